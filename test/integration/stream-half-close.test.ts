import type { ClientDuplexStream, StatusObject } from "@grpc/grpc-js";
import { expect } from "chai";
import { once } from "node:events";
import { Code, type KeepAliveStreamRequest, type KeepAliveStreamResponse } from "../../clients";
import { startHarness, type Harness } from "../support/harness";

/**
 * A caller that half-closes a bidi stream (KeepAliveStream) after its last request gets
 * every answer, then the status: the server must not destroy the call when it has read
 * the last request. Before the fix the status never came, and stopping the server
 * waited its whole SHUTDOWN_GRACE for the dangling stream.
 */
describe("a bidi stream the caller half-closes", () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ env: { SHUTDOWN_GRACE: "30s" } });
  });
  afterEach(() => h.close());

  it("answers every request, then ends with OK; the server then stops at once", async function () {
    this.timeout(5000);
    const { keyId } = await h.client.create({});
    const call: ClientDuplexStream<KeepAliveStreamRequest, KeepAliveStreamResponse> = h.client.raw.keepAliveStream();
    const answers: KeepAliveStreamResponse[] = [];
    call.on("data", (answer: KeepAliveStreamResponse) => answers.push(answer));
    const status = once(call, "status") as Promise<[StatusObject]>;
    call.write({ keyId, lease: undefined });
    call.write({ keyId: "no-such-key", lease: undefined });
    call.end();
    const [{ code }] = await status;
    expect(code).to.equal(Code.OK);
    expect(answers.map((answer) => answer.code)).to.deep.equal([Code.OK, Code.NOT_FOUND]);
    const stopping = Date.now();
    await h.close();
    // Well under the 30 s grace: nothing was left open.
    expect(Date.now() - stopping).to.be.below(2000);
  });
});
