/**
 * google.api.http path templates, as grpc-gateway reads them:
 *
 *   Template = "/" Segments [ Verb ] ;
 *   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *   Verb     = ":" LITERAL ;
 *
 * A template compiles once, at start-up, into a list of segment matchers.
 */

type Piece =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "one" } // "*": exactly one segment
  | { readonly kind: "rest" }; // "**": zero or more segments, last only

interface Capture {
  readonly field: string;
  /** Index of the first piece the variable covers, and one past its last. */
  readonly from: number;
  readonly to: number;
}

export interface PathTemplate {
  readonly source: string;
  readonly pieces: readonly Piece[];
  readonly captures: readonly Capture[];
  readonly verb: string | undefined;
  /** Field paths the template binds, e.g. ["key_id"]. */
  readonly fields: readonly string[];
}

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

export function parseTemplate(source: string): PathTemplate {
  if (!source.startsWith("/")) throw new TemplateError(`path template must start with "/": ${source}`);
  const tokens = splitTopLevel(source.slice(1), source);
  // A verb (":cancel") follows the last segment, outside any braces.
  let verb: string | undefined;
  const last = tokens[tokens.length - 1] as string;
  const colon = last.indexOf(":", last.lastIndexOf("}") + 1);
  if (colon >= 0) {
    verb = last.slice(colon + 1);
    tokens[tokens.length - 1] = last.slice(0, colon);
    if (verb === "") throw new TemplateError(`empty verb in ${source}`);
  }
  const pieces: Piece[] = [];
  const captures: Capture[] = [];
  for (const token of tokens) {
    if (token.startsWith("{")) {
      const inner = token.slice(1, -1);
      const eq = inner.indexOf("=");
      const field = eq < 0 ? inner : inner.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(field)) {
        throw new TemplateError(`bad field path "${field}" in ${source}`);
      }
      const from = pieces.length;
      const sub = eq < 0 ? ["*"] : inner.slice(eq + 1).split("/");
      for (const part of sub) pieces.push(pieceOf(part, source));
      captures.push({ field, from, to: pieces.length });
    } else {
      pieces.push(pieceOf(token, source));
    }
  }
  const restAt = pieces.findIndex((piece) => piece.kind === "rest");
  if (restAt >= 0 && restAt !== pieces.length - 1) throw new TemplateError(`"**" must be the last segment: ${source}`);
  return { source, pieces, captures, verb, fields: captures.map((capture) => capture.field) };
}

/** Splits on "/" outside braces. */
function splitTopLevel(body: string, source: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i += 1) {
    const char = body[i];
    if (char === "{") depth += 1;
    else if (char === "}") depth -= 1;
    else if (char === "/" && depth === 0) {
      tokens.push(body.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw new TemplateError(`unbalanced braces in ${source}`);
  }
  if (depth !== 0) throw new TemplateError(`unbalanced braces in ${source}`);
  tokens.push(body.slice(start));
  return tokens;
}

function pieceOf(token: string, source: string): Piece {
  if (token === "*") return { kind: "one" };
  if (token === "**") return { kind: "rest" };
  if (token === "" || /[{}*]/.test(token)) throw new TemplateError(`bad segment "${token}" in ${source}`);
  return { kind: "literal", text: token };
}

/**
 * Matches a request path (without query) and returns the bound variables, still
 * percent-encoded (see decodePathValue), or undefined when the path does not match.
 */
export function matchTemplate(template: PathTemplate, path: string): Map<string, string> | undefined {
  return path.startsWith("/") ? matchSegments(template, path.slice(1).split("/")) : undefined;
}

/**
 * As matchTemplate, on the path already split at "/" (without the leading one), so
 * a router splits each request once for all its templates. `segments` is not changed.
 */
export function matchSegments(template: PathTemplate, segments: readonly string[]): Map<string, string> | undefined {
  let parts = segments;
  if (template.verb !== undefined) {
    const suffix = `:${template.verb}`;
    const last = parts[parts.length - 1] as string;
    if (!last.endsWith(suffix)) return undefined;
    parts = [...parts.slice(0, -1), last.slice(0, -suffix.length)];
  }
  const { pieces } = template;
  const hasRest = pieces.length > 0 && pieces[pieces.length - 1]?.kind === "rest";
  if (hasRest ? parts.length < pieces.length - 1 : parts.length !== pieces.length) return undefined;
  for (let i = 0; i < pieces.length; i += 1) {
    const piece = pieces[i] as Piece;
    if (piece.kind === "rest") break;
    const segment = parts[i] as string;
    if (piece.kind === "literal" ? segment !== piece.text : segment === "") return undefined;
  }
  const bound = new Map<string, string>();
  for (const capture of template.captures) {
    const last = pieces[capture.to - 1]?.kind === "rest" ? parts.length : capture.to;
    bound.set(capture.field, capture.to - capture.from === 1 && last === capture.to ? (parts[capture.from] as string) : parts.slice(capture.from, last).join("/"));
  }
  return bound;
}

/**
 * Percent-decodes a bound variable segment by segment, so a multi-segment
 * variable keeps "/" as its separator. Undefined when the encoding is malformed.
 */
export function decodePathValue(raw: string): string | undefined {
  try {
    return raw.includes("%") ? raw.split("/").map(decodeURIComponent).join("/") : raw;
  } catch {
    return undefined;
  }
}
