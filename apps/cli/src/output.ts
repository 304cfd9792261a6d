/** Writes a result as JSON (for scripts) or as text (for people). */
export interface Output {
  json: boolean;
  out: (s: string) => void;
  err: (s: string) => void;
}

export function stdio(json: boolean): Output {
  return {
    json,
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
  };
}

export function printJson(o: Output, value: unknown): void {
  o.out(JSON.stringify(value, null, 2));
}
