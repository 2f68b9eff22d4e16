#!/usr/bin/python3
"""Writes src/synapse/phonenumbers-data.ts from the Python phonenumbers this interpreter imports
(run it with Debian's /usr/bin/python3). Synapse and the identity server read a phone number with
phonenumbers.parse(); src/synapse/msisdn.ts replays that parse, so everything it depends on comes
from Python itself, never from a JS approximation:

- the regular expressions of the parse pipeline, translated to JS with every character class and
  every literal expanded to the exact set of code points Python's re matches with the pattern's
  own flags (re.UNICODE \\d and \\w of this Python's Unicode database, re.IGNORECASE variants
  such as U+212A KELVIN SIGN for "k");
- the digit value of every character (phonenumbers uses unicodedata.digit), and the keypad
  letter of every character whose str.upper() is one (vanity numbers);
- the parsing metadata of every region and non-geographic calling code.
"""
import json, re, sys, unicodedata

import phonenumbers
import phonenumbers.phonenumberutil as pnu
from phonenumbers.phonemetadata import PhoneMetadata

# Every code point, surrogates included: a JSON string may carry a lone "\\ud800" escape.
ALL = "".join(chr(cp) for cp in range(0x110000))


def matching(src, flags):
    """The code points one-character pattern src matches under flags."""
    rx = re.compile(src, flags)
    return [ord(m.group(0)) for m in rx.finditer(ALL)]


def js_class(cps):
    """A JS (u-flag) character class for a set of code points."""
    cps = sorted(set(cps))
    if not cps:
        return "[]"
    out, start, prev = [], cps[0], cps[0]
    for cp in cps[1:] + [None]:
        if cp is not None and cp == prev + 1:
            prev = cp
            continue
        out.append(esc(start) if start == prev else esc(start) + "-" + esc(prev))
        if cp is not None:
            start = prev = cp
    return "[" + "".join(out) + "]"


def esc(cp):
    c = chr(cp)
    if c.isascii() and c.isalnum():
        return c
    return "\\u{%X}" % cp


def translate(pattern, flags):
    """Python regex source -> JS u-flag source with the same matches. Covers the constructs the
    phonenumbers patterns use: groups, alternation, quantifiers, classes, \\d, \\w, ".", "$"."""
    out, i, n = [], 0, len(pattern)
    if pattern.startswith("(?u)"):
        i = 4
    while i < n:
        c = pattern[i]
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(js_class(matching(pattern[i:j + 1], flags)))
            i = j + 1
        elif c == "\\":
            out.append(js_class(matching(pattern[i:i + 2], flags)))
            i += 2
        elif c == "(":
            if pattern.startswith("(?:", i):
                out.append("(?:")
                i += 3
            elif pattern[i + 1] == "?":
                raise ValueError("unsupported group at %d in %r" % (i, pattern))
            else:
                out.append("(")
                i += 1
        elif c in ")|*+?":
            out.append(c)
            i += 1
        elif c == "{":
            j = pattern.index("}", i)
            assert re.fullmatch(r"\{\d+(,\d*)?\}", pattern[i:j + 1]), pattern[i:j + 1]
            out.append(pattern[i:j + 1])
            i = j + 1
        elif c == "$":
            # Python's "$" also matches before a newline that ends the string
            out.append("(?=\\n?$)")
            i += 1
        elif c == ".":
            out.append(js_class(matching(".", flags)))
            i += 1
        else:
            cps = matching(re.escape(c), flags)
            out.append(esc(cps[0]) if len(cps) == 1 else js_class(cps))
            i += 1
    return "".join(out)


PATTERNS = {
    # name: (compiled pattern, how msisdn.ts uses it)
    "VALID_START_CHAR": pnu._VALID_START_CHAR_PATTERN,
    "UNWANTED_END_CHARS": pnu._UNWANTED_END_CHAR_PATTERN,
    "SECOND_NUMBER_START": pnu._SECOND_NUMBER_START_PATTERN,
    "VALID_PHONE_NUMBER": pnu._VALID_PHONE_NUMBER_PATTERN,
    "EXTN": pnu._EXTN_PATTERN,
    "VALID_ALPHA_PHONE": pnu._VALID_ALPHA_PHONE_PATTERN,
    "PLUS_CHARS": pnu._PLUS_CHARS_PATTERN,
    "CAPTURING_DIGIT": pnu._CAPTURING_DIGIT_PATTERN,
}


def digit_ranges():
    """[first, last, value of first]: unicodedata.digit, as phonenumbers' unicode_digit reads it."""
    ranges = []
    for cp in range(0x110000):
        d = unicodedata.digit(chr(cp), -1)
        if d == -1:
            continue
        if ranges and ranges[-1][1] == cp - 1 and ranges[-1][2] + (cp - ranges[-1][0]) == d:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp, d])
    return ranges


def keypad():
    """Code points whose str.upper() is a key of _ALPHA_PHONE_MAPPINGS (_normalize_helper)."""
    out = []
    for cp in range(0x110000):
        v = pnu._ALPHA_PHONE_MAPPINGS.get(chr(cp).upper())
        if v is not None:
            out.append([cp, int(v)])
    return out


def transform(rule):
    """National prefix transform rule ("9\\\\1") -> [literal, group number]."""
    if not rule:
        return None
    m = re.fullmatch(r"(\d*)\\(\d)", rule)
    assert m, rule
    return [m.group(1), int(m.group(2))]


def meta(m):
    g = m.general_desc
    assert g.possible_length, m.id
    return {
        "cc": m.country_code,
        "idd": m.international_prefix,
        "npp": m.national_prefix_for_parsing,
        "npt": transform(m.national_prefix_transform_rule),
        "nsn": g.national_number_pattern,
        "len": list(g.possible_length),
        "local": list(g.possible_length_local_only),
    }


regions = {r: meta(PhoneMetadata.metadata_for_region(r)) for r in sorted(pnu.SUPPORTED_REGIONS)}
nongeo = {str(c): meta(PhoneMetadata.metadata_for_nongeo_region(c)) for c in sorted(pnu.COUNTRY_CODES_FOR_NON_GEO_REGIONS)}
cc_regions = {str(cc): list(rs) for cc, rs in sorted(pnu.COUNTRY_CODE_TO_REGION_CODE.items())}

J = lambda v: json.dumps(v, ensure_ascii=True, separators=(",", ":"))
out = [
    "// Generated by scripts/gen-phonenumbers.py from Python phonenumbers %s (Python %s, Unicode %s). Do not edit."
    % (phonenumbers.__version__, sys.version.split()[0], unicodedata.unidata_version),
    "export const PHONENUMBERS_VERSION = %s" % J(phonenumbers.__version__),
    "export const UNICODE_VERSION = %s" % J(unicodedata.unidata_version),
    "",
    "// The parse pipeline's regular expressions as JS u-flag sources matching what Python's re matches.",
    "export const PATTERNS = {",
]
for name, rx in PATTERNS.items():
    out.append("  %s: %s," % (name, J(translate(rx.pattern, rx.flags))))
out += [
    "} as const",
    "",
    "// [first, last, digit value of first]: unicodedata.digit (phonenumbers' normalize_digits_only).",
    "export const DIGIT_RANGES: ReadonlyArray<readonly [number, number, number]> = %s" % J(digit_ranges()),
    "",
    "// [code point, keypad digit]: _ALPHA_PHONE_MAPPINGS[char.upper()] (vanity numbers).",
    "export const KEYPAD: ReadonlyArray<readonly [number, number]> = %s" % J(keypad()),
    "",
    "export interface PlanData { cc: number, idd: string | null, npp: string | null, npt: [string, number] | null, nsn: string, len: number[], local: number[] }",
    "export const SUPPORTED_REGIONS: readonly string[] = %s" % J(sorted(pnu.SUPPORTED_REGIONS)),
    "// COUNTRY_CODE_TO_REGION_CODE: the first region is the main one; \"001\" is non-geographic.",
    "export const COUNTRY_CODE_TO_REGIONS: Readonly<Record<string, readonly string[]>> = %s" % J(cc_regions),
    "export const REGION_PLANS: Readonly<Record<string, PlanData>> = {",
]
for r, m in regions.items():
    out.append("  %s: %s," % (J(r), J(m)))
out += ["}", "export const NONGEO_PLANS: Readonly<Record<string, PlanData>> = {"]
for c, m in nongeo.items():
    out.append("  %s: %s," % (J(c), J(m)))
out.append("}")
target = sys.argv[1] if len(sys.argv) > 1 else "src/synapse/phonenumbers-data.ts"
open(target, "w").write("\n".join(out) + "\n")
print("phonenumbers %s: %d regions, %d non-geographic codes" % (phonenumbers.__version__, len(regions), len(nongeo)))
