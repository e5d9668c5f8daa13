import { expect } from "chai";
import fc from "fast-check";
import { decodePathValue, matchTemplate, parseTemplate, TemplateError } from "../../src/transport/http/path-template";

const match = (template: string, path: string) => {
  const bound = matchTemplate(parseTemplate(template), path);
  return bound === undefined ? undefined : Object.fromEntries(bound);
};

describe("google.api.http path templates", () => {
  it("binds single-segment variables and literals exactly", () => {
    expect(match("/keys/{key_id}", "/keys/abc")).to.deep.equal({ key_id: "abc" });
    expect(match("/keys/{key_id}", "/keys/")).to.equal(undefined);
    expect(match("/keys/{key_id}", "/keys/a/b")).to.equal(undefined);
    expect(match("/keys/{key_id}", "/key/abc")).to.equal(undefined);
    expect(match("/keys", "/keys")).to.deep.equal({});
    expect(match("/keys", "/keys/")).to.equal(undefined);
  });

  it("binds multi-segment variables, ** tails, dotted fields and verbs", () => {
    expect(match("/v1/{name=shelves/*/books/*}:archive", "/v1/shelves/s1/books/b2:archive")).to.deep.equal({ name: "shelves/s1/books/b2" });
    expect(match("/v1/{name=shelves/*/books/*}:archive", "/v1/shelves/s1/books/b2")).to.equal(undefined);
    expect(match("/v1/{path=**}", "/v1/a/b/c")).to.deep.equal({ path: "a/b/c" });
    expect(match("/v1/shelves/{shelf.id}/books", "/v1/shelves/7/books")).to.deep.equal({ "shelf.id": "7" });
    expect(parseTemplate("/v1/{name=shelves/*}:cancel").verb).to.equal("cancel");
  });

  it("rejects malformed templates at start-up", () => {
    for (const bad of ["keys", "/keys/{id", "/keys/{a}}", "/v1/**/x", "/v1/{1bad}", "/v1//x", "/v1/x:"]) {
      expect(() => parseTemplate(bad), bad).to.throw(TemplateError);
    }
  });

  it("leaves variables encoded for the caller to decode segment by segment", () => {
    expect(match("/keys/{key_id}", "/keys/a%20b")).to.deep.equal({ key_id: "a%20b" });
    expect(decodePathValue("a%20b")).to.equal("a b");
    expect(decodePathValue("shelves/a%2Fb")).to.equal("shelves/a/b");
    expect(decodePathValue("%zz")).to.equal(undefined);
  });

  it("matches any single segment of URL-safe characters and decodes it back (property)", () => {
    const template = parseTemplate("/keys/{key_id}");
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (id) => {
        const bound = matchTemplate(template, `/keys/${encodeURIComponent(id)}`);
        expect(bound).to.not.equal(undefined);
        expect(decodePathValue(bound?.get("key_id") ?? "")).to.equal(id);
      }),
    );
  });
});
