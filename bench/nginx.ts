import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, startChild, waitForPort, type Child } from './procs.js'

// nginx as the reference proxy: one worker, keep-alive to the upstream, request bodies streamed
// (proxy_request_buffering off) as regguard streams them. Logs and temp files in our temp dir.

export function findNginx (): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) if (existsSync(p)) return p
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

export function nginxVersion (bin: string): string {
  try {
    // nginx -v writes to stderr
    return execFileSync(bin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() ||
      execFileSync('sh', ['-c', `${bin} -v 2>&1`], { encoding: 'utf8' }).trim()
  } catch (err) {
    return String((err as { stderr?: unknown }).stderr ?? 'unknown').trim()
  }
}

export function nginxConf (dir: string, port: number, upstreamPort: number): string {
  const t = (name: string): string => join(dir, name)
  return `worker_processes 1;
daemon off;
master_process on;
pid ${t('nginx.pid')};
error_log ${t('error.log')} warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${t('client_body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream homeserver {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 64m;
    location / {
      proxy_pass http://homeserver;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_request_buffering off;
    }
  }
}
`
}

export interface Nginx { url: string, child: Child }

export async function startNginx (bin: string, dir: string, upstreamPort: number): Promise<Nginx> {
  const home = join(dir, 'nginx')
  mkdirSync(home, { recursive: true })
  const port = await freePort()
  const conf = join(home, 'nginx.conf')
  writeFileSync(conf, nginxConf(home, port, upstreamPort))
  // -e: nginx would otherwise open the compiled-in error log before reading ours
  const child = startChild(bin, ['-p', home, '-c', conf, '-e', join(home, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  await waitForPort(port, child)
  return { url: `http://127.0.0.1:${port}`, child }
}
