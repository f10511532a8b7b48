// Splits DBC text into tokens that remember their line and column, so every
// parse error can say where it is. Signs are their own tokens: "1-1" in
// SG_MUL_VAL_ is a range, and "@1-" a byte order and a sign.

export type TokenKind = "ident" | "number" | "string" | "punct" | "end";

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  column: number;
  /** First token on its line. */
  lineStart: boolean;
}

const PUNCT = new Set([":", ";", "|", "@", "(", ")", "[", "]", ",", "+", "-"]);

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A SyntaxError that says where. */
export function syntaxError(message: string, line: number, column: number): SyntaxError {
  return new SyntaxError(`DBC line ${line}, column ${column}: ${message}`);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineBegin = 0;
  let lastLine = 0;
  const n = text.length;
  const push = (kind: TokenKind, value: string, startLine: number, col: number) => {
    tokens.push({
      kind,
      text: value,
      line: startLine,
      column: col,
      lineStart: startLine !== lastLine,
    });
    lastLine = startLine;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineBegin = i;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xfeff) {
      i++;
      continue;
    }
    const column = i - lineBegin + 1;
    if (c === 47 && text.charCodeAt(i + 1) === 47) {
      // "//" comments appear in hand-edited files (opendbc); cantools skips them too.
      while (i < n && text.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (isIdentStart(c)) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (isIdentStart(d) || isDigit(d)) i++;
        else break;
      }
      push("ident", text.slice(start, i), line, column);
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      const start = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 46) {
        i++;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      }
      const e = text.charCodeAt(i);
      if (e === 69 || e === 101) {
        let j = i + 1;
        const s = text.charCodeAt(j);
        if (s === 43 || s === 45) j++;
        if (isDigit(text.charCodeAt(j))) {
          while (j < n && isDigit(text.charCodeAt(j))) j++;
          i = j;
        }
      }
      if (i < n && isIdentStart(text.charCodeAt(i))) {
        // Names may start with digits ("BO_ 1275 2017_5: 8 XXX" in opendbc's mazda_2017.dbc).
        while (i < n && (isIdentStart(text.charCodeAt(i)) || isDigit(text.charCodeAt(i)))) i++;
        push("ident", text.slice(start, i), line, column);
        continue;
      }
      push("number", text.slice(start, i), line, column);
      continue;
    }
    if (c === 34) {
      const startLine = line;
      let value = "";
      let j = i + 1;
      let chunk = j;
      for (;;) {
        if (j >= n) throw syntaxError("unterminated string", startLine, column);
        const d = text.charCodeAt(j);
        if (d === 34) break;
        if (d === 92 && (text.charCodeAt(j + 1) === 34 || text.charCodeAt(j + 1) === 92)) {
          value += text.slice(chunk, j);
          chunk = j + 1;
          j += 2;
          continue;
        }
        if (d === 10) {
          line++;
          lineBegin = j + 1;
        }
        j++;
      }
      value += text.slice(chunk, j);
      i = j + 1;
      push("string", value, startLine, column);
      continue;
    }
    const ch = text[i];
    if (PUNCT.has(ch)) {
      i++;
      push("punct", ch, line, column);
      continue;
    }
    throw syntaxError(`unexpected character ${JSON.stringify(ch)}`, line, column);
  }
  tokens.push({ kind: "end", text: "", line, column: i - lineBegin + 1, lineStart: true });
  return tokens;
}
