import { expect } from "chai";
import { REMEMBERED_CONNECTIONS, REMEMBERED_HEADER_LENGTH, TokenSet } from "../../src/service/tokens";

describe("TokenSet: the header a connection last authenticated with", () => {
  const CLIENT = "c".repeat(24);
  const ADMIN = "a".repeat(24);
  const tokens = (): TokenSet => TokenSet.parse(`client ${CLIENT} worker\nadmin ${ADMIN} ops\n`);

  it("answers a repeated header with the same caller, and any other header by its own token", () => {
    const set = tokens();
    const worker = set.authenticate(`Bearer ${CLIENT}`, "10.0.0.1:5000");
    expect(worker).to.deep.equal({ name: "worker", role: "client" });
    expect(set.authenticate(`Bearer ${CLIENT}`, "10.0.0.1:5000")).to.equal(worker);
    // Another header on the same connection is checked in full: never the remembered caller.
    expect(set.authenticate(`Bearer ${ADMIN}`, "10.0.0.1:5000")).to.deep.equal({ name: "ops", role: "admin" });
    for (const wrong of [`Bearer ${CLIENT}x`, `Bearer ${CLIENT.slice(1)}`, `bearer  ${CLIENT}`.slice(0, -1), "", `Basic ${CLIENT}`]) {
      expect(set.authenticate(wrong, "10.0.0.1:5000"), wrong).to.equal(undefined);
    }
    // The same spelling differently cased is still the same token (the scheme is case-insensitive).
    expect(set.authenticate(`bearer ${CLIENT}`, "10.0.0.1:5000")).to.deep.equal({ name: "worker", role: "client" });
    expect(set.authenticate(`Bearer ${ADMIN}`, "10.0.0.1:5000")?.role).to.equal("admin");
  });

  it("remembers only accepted headers, one per connection, and at most REMEMBERED_CONNECTIONS", () => {
    const set = tokens();
    expect(set.authenticate(`Bearer ${"x".repeat(24)}`, "10.0.0.2:1")).to.equal(undefined);
    expect(set.authenticate(`Bearer ${CLIENT}`)).to.deep.equal({ name: "worker", role: "client" });
    expect(set.rememberedConnections).to.equal(0);
    set.authenticate(`Bearer ${CLIENT}`, "10.0.0.2:1");
    set.authenticate(`Bearer ${ADMIN}`, "10.0.0.2:1");
    expect(set.rememberedConnections).to.equal(1);
    // A header padded past the limit (the scheme allows trailing spaces) is accepted, not remembered.
    const padded = `Bearer ${CLIENT}${" ".repeat(REMEMBERED_HEADER_LENGTH)}`;
    expect(set.authenticate(padded, "10.0.0.2:0")).to.deep.equal({ name: "worker", role: "client" });
    expect(set.rememberedConnections).to.equal(1);
    for (let port = 2; port <= REMEMBERED_CONNECTIONS + 100; port += 1) set.authenticate(`Bearer ${CLIENT}`, `10.0.0.2:${port}`);
    expect(set.rememberedConnections).to.equal(REMEMBERED_CONNECTIONS);
    // A forgotten connection is checked in full again, with the same answer.
    expect(set.authenticate(`Bearer ${ADMIN}`, "10.0.0.2:1")?.name).to.equal("ops");
  });
});
