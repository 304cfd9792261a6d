/**
 * A small INI reader that keeps line numbers (npm's `ini` drops them, and every configuration
 * error must name its line). The dialect is tools.conf's: `[section]`, `key = value`, comments
 * starting with `#` or `;`, a value optionally in double quotes. Nothing is interpreted here:
 * config.ts checks sections, keys and values.
 */
import { ConfigError } from './errors.js';

export interface IniEntry {
  section: string;
  /** '' for the `[section]` header line. */
  key: string;
  value: string;
  line: number;
}

export function readIni(text: string, file: string): IniEntry[] {
  const entries: IniEntry[] = [];
  let section: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#') || raw.startsWith(';')) continue;
    if (raw.startsWith('[')) {
      const m = /^\[\s*([^\]\s]+)\s*\]$/.exec(raw);
      if (!m) throw new ConfigError(file, line, `a section header is "[name]", got ${JSON.stringify(raw)}`);
      section = m[1]!.toLowerCase();
      // The header itself is an entry with an empty key, so an unknown section is named at its line.
      entries.push({ section, key: '', value: '', line });
      continue;
    }
    const eq = raw.indexOf('=');
    if (eq <= 0)
      throw new ConfigError(file, line, `expected "key = value" or "[section]", got ${JSON.stringify(raw)}`);
    if (section === null)
      throw new ConfigError(file, line, `"${raw.slice(0, eq).trim()}" is outside any [section]`);
    const key = raw.slice(0, eq).trim().toLowerCase();
    let value = raw.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      if (value.length < 2 || !value.endsWith('"'))
        throw new ConfigError(file, line, `unterminated quoted value for "${key}"`);
      value = value.slice(1, -1);
    }
    entries.push({ section, key, value, line });
  }
  return entries;
}
