/**
 * Keeps docs/api.md honest as the API grows: every RPC, REST route, request and
 * response field, environment variable (with its default) and gRPC → HTTP status
 * the code defines must appear in the reference, and every relative link in it
 * must lead to a file (and heading) that exists. Everything is derived from the
 * code itself (the embedded descriptors, the route table, src/config.ts), so a new
 * RPC, field or setting without documentation fails here.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { DescField, DescMessage, DescService } from "@bufbuild/protobuf";
import { expect } from "chai";
import { Code } from "../../src/service/status";
import { descriptorRegistry } from "../../src/transport/descriptors";
import { httpStatusOf } from "../../src/transport/http/http-status";
import { routesFromDescriptors } from "../../src/transport/http/routes";
import { ROOT } from "../support/run";

const SERVICE = "tokens.v1.TokenService";
const DOC = join(ROOT, "docs", "api.md");
const CONFIG_SOURCE = join(ROOT, "src", "config.ts");

/** Markdown without fenced code blocks: examples alone do not document anything. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** The Markdown headings of a document (outside code blocks), as written. */
function headings(markdown: string): string[] {
  return [...prose(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)].map((match) => match[1] as string);
}

/** GitHub's anchors for a document's headings, duplicates numbered as GitHub numbers them. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const heading of headings(markdown)) {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The message type a field holds, if any (singular, list or map value). */
function messageOf(field: DescField): DescMessage | undefined {
  switch (field.fieldKind) {
    case "message":
      return field.message;
    case "list":
      return field.listKind === "message" ? field.message : undefined;
    case "map":
      return field.mapKind === "message" ? field.message : undefined;
    default:
      return undefined;
  }
}

/** Every field of the service's request and response messages, nested ones included (well-known types excluded). */
function serviceFields(service: DescService): { readonly message: string; readonly field: DescField }[] {
  const fields: { message: string; field: DescField }[] = [];
  const visited = new Set<string>();
  const visit = (message: DescMessage): void => {
    if (visited.has(message.typeName) || message.typeName.startsWith("google.protobuf.")) return;
    visited.add(message.typeName);
    for (const field of message.fields) {
      fields.push({ message: message.typeName, field });
      const nested = messageOf(field);
      if (nested !== undefined) visit(nested);
    }
  };
  for (const method of service.methods) {
    visit(method.input);
    visit(method.output);
  }
  return fields;
}

/** The variables `loadConfig` reads, with their defaults, from its `read("NAME", "default")` calls. */
function configVariables(): { readonly name: string; readonly fallback: string }[] {
  const source = readFileSync(CONFIG_SOURCE, "utf8");
  const calls = source.match(/\bread\(/g) ?? [];
  const parsed = [...source.matchAll(/\bread\(\s*"([A-Z][A-Z0-9_]*)"\s*,\s*"([^"]*)"\s*\)/g)].map((match) => ({
    name: match[1] as string,
    fallback: match[2] as string,
  }));
  // A read(...) this test cannot parse would hide a variable: make it fail loudly instead.
  expect(parsed.map((variable) => variable.name), "every read(...) call in src/config.ts names a literal variable and default").to.have.length(calls.length);
  return parsed;
}

/** Inline links `[text](target)` in the prose, inline code spans removed first. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe("docs/api.md keeps up with the code", () => {
  let doc: string;
  let text: string;
  let service: DescService;

  before(() => {
    doc = readFileSync(DOC, "utf8");
    text = prose(doc);
    const found = descriptorRegistry().getService(SERVICE);
    if (found === undefined) throw new Error(`${SERVICE} is not in the embedded descriptors`);
    service = found;
  });

  it(`has a heading naming every RPC of ${SERVICE}`, () => {
    expect(service.methods.length).to.be.greaterThan(0);
    const titles = headings(doc);
    const missing = service.methods
      .map((method) => method.name)
      .filter((name) => !titles.some((title) => new RegExp(`\\b${escapeRegExp(name)}\\b`).test(title)));
    expect(missing, "RPCs without a heading in docs/api.md").to.deep.equal([]);
  });

  it("names every REST route as METHOD /template, as the proto writes it", () => {
    const routes = routesFromDescriptors(descriptorRegistry(), [SERVICE]);
    expect(routes.length).to.be.greaterThan(0);
    const missing = routes.map((route) => `${route.httpMethod} ${route.template.source}`).filter((route) => !text.includes(route));
    expect(missing, "routes missing from docs/api.md").to.deep.equal([]);
  });

  it("names every request and response field by its JSON name", () => {
    const fields = serviceFields(service);
    expect(fields.length).to.be.greaterThan(0);
    const missing = fields.filter(({ field }) => !text.includes(`\`${field.jsonName}\``)).map(({ message, field }) => `${message}.${field.name} (${field.jsonName})`);
    expect(missing, "fields missing from docs/api.md (as `jsonName`)").to.deep.equal([]);
  });

  it("documents every environment variable loadConfig reads, with its default", () => {
    const variables = configVariables();
    expect(variables.map((variable) => variable.name)).to.include.members(["PORT", "GRPC_PORT", "KEY_TTL", "BLOCK_TTL"]);
    const problems: string[] = [];
    for (const { name, fallback } of variables) {
      const row = text.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
      if (row === undefined) problems.push(`${name}: no settings table row`);
      // A setting that is off unless given (default "") says "unset" in its default column.
      else if (fallback === "" ? !row.startsWith(`| \`${name}\` | unset |`) : !row.includes(`\`${fallback}\``)) {
        problems.push(`${name}: row does not show the default ${fallback === "" ? "unset" : `\`${fallback}\``}`);
      }
    }
    expect(problems, "settings missing from docs/api.md").to.deep.equal([]);
  });

  it("lists every gRPC code with the HTTP status the REST shim maps it to", () => {
    const problems: string[] = [];
    for (let code: number = Code.OK; code <= Code.UNAUTHENTICATED; code += 1) {
      const name = Code[code] ?? `code ${code}`;
      const row = new RegExp(`^\\|\\s*\`${name}\`\\s*\\|\\s*${code}\\s*\\|\\s*${httpStatusOf(code)}\\s*\\|`, "m");
      if (!row.test(text)) problems.push(`${name} (${code}) → ${httpStatusOf(code)}`);
    }
    expect(problems, "rows missing from the gRPC → HTTP table").to.deep.equal([]);
  });

  it("links only to files (and headings) that exist in the repository", () => {
    const links = relativeLinks(doc);
    expect(links.length, "docs/api.md links to the proto, at least").to.be.greaterThan(0);
    const ownAnchors = anchors(doc);
    const broken: string[] = [];
    for (const link of links) {
      const hash = link.indexOf("#");
      const path = hash < 0 ? link : link.slice(0, hash);
      const anchor = hash < 0 ? "" : decodeURIComponent(link.slice(hash + 1));
      if (path === "") {
        if (!ownAnchors.has(anchor)) broken.push(`${link}: no such heading in docs/api.md`);
        continue;
      }
      const target = resolve(dirname(DOC), decodeURIComponent(path));
      const inside = relative(ROOT, target);
      if (inside.startsWith("..") || isAbsolute(inside) || isAbsolute(path)) {
        broken.push(`${link}: outside the repository`);
      } else if (!existsSync(target)) {
        broken.push(`${link}: no such file`);
      } else if (anchor !== "" && target.endsWith(".md") && statSync(target).isFile() && !anchors(readFileSync(target, "utf8")).has(anchor)) {
        broken.push(`${link}: no such heading in ${inside}`);
      }
    }
    expect(broken, "broken links in docs/api.md").to.deep.equal([]);
  });
});
