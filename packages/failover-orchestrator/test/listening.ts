import type { ChildProcess } from 'node:child_process';

/** The URL of the `listening on HOST:PORT` line the process prints once it listens. */
export function listening(proc: ChildProcess, what = 'the orchestrator', stderr?: () => string): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (127\.0\.0\.1:[1-9]\d*)/.exec(out);
      if (m) resolve(`http://${m[1]}`);
    });
    proc.on('exit', (code) => reject(new Error(`${what} exited ${code}: ${stderr?.() ?? ''}${out}`)));
  });
}
