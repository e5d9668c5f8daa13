import { Validator } from "@seriousme/openapi-schema-validator";
import { expect } from "chai";
import { TOKEN_SERVICE } from "../../src/app";
import { descriptorRegistry } from "../../src/transport/descriptors";
import { type OpenApiDocument, type OpenApiSchema, openApiDocument } from "../../src/transport/http/openapi";
import { routesFromDescriptors } from "../../src/transport/http/routes";
import { TOKEN_REST_OPTIONS } from "../../src/transport/http/token-rest";
import { startHarness, type Harness } from "../support/harness";

/** GET /openapi.json over real HTTP: the served document is the generated one, and it describes what is served. */
describe("GET /openapi.json", () => {
  let h: Harness;
  let base: string;

  before(async () => {
    h = await startHarness();
    base = `http://${h.app.httpAddress}`;
  });
  after(() => h.close());

  async function served(): Promise<Response> {
    return fetch(`${base}/openapi.json`);
  }

  it("answers 200 application/json with the document generated from the descriptors, valid", async () => {
    const res = await served();
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^application\/json\b/);
    const body = (await res.json()) as Record<string, unknown>;
    const local = openApiDocument(routesFromDescriptors(descriptorRegistry(), [TOKEN_SERVICE]), TOKEN_REST_OPTIONS);
    expect(body).to.deep.equal(JSON.parse(JSON.stringify(local)));
    const result = await new Validator().validate(body);
    expect(result.errors, JSON.stringify(result.errors)).to.equal(undefined);
    expect(result.valid).to.equal(true);
  });

  it("lists exactly the fields the REST responses carry, as required", async () => {
    const doc = (await (await served()).json()) as OpenApiDocument;
    const requiredOf = (key: string): readonly string[] => {
      const schema: OpenApiSchema | undefined = doc.components.schemas[key];
      return schema !== undefined && !("$ref" in schema) ? (schema.required ?? []) : [];
    };

    const created = await fetch(`${base}/keys`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(created.status).to.equal(201);
    const createdBody = (await created.json()) as Record<string, unknown>;
    expect(Object.keys(createdBody)).to.have.members([...requiredOf("tokens.v1.CreateResponse")]);
    const keyId = createdBody["keyId"] as string;

    const got = (await (await fetch(`${base}/keys/${keyId}`)).json()) as Record<string, unknown>;
    expect(Object.keys(got)).to.have.members([...requiredOf("tokens.v1.GetResponse")]);
    expect(got["blockedAt"]).to.equal(null);

    const missing = await fetch(`${base}/keys/no-such-key`);
    expect(missing.status).to.equal(404);
    expect(Object.keys((await missing.json()) as object)).to.have.members([...requiredOf("Status")]);
  });
});
