// The README's streams example, verbatim; `npm test` type-checks it and runs it against a live server.
import { Code, createTokenClient, KeyEventType } from "./index";

export async function streamsExample(address = "127.0.0.1:50051"): Promise<void> {
  const tokens = createTokenClient(address); // Watch needs the admin role when tokens are on
  const stop = new AbortController(); // ends the watch if anything below fails
  try {
    // Watch from now on, in the background: every key event of the pool, in revision order.
    const watching = (async () => {
      for await (const event of tokens.watch({}, { signal: stop.signal })) {
        console.log("event:", event.revision, KeyEventType[event.type]);
        if (event.type === KeyEventType.KEPT_ALIVE) break; // seen enough: leaving the loop ends the watch
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100)); // the watch is open

    const first = await tokens.create({});
    const second = await tokens.create({});
    const held = await tokens.acquire({});

    // One stream renews every key a worker holds: one answer per request, in order.
    const renewals = tokens.keepAliveStream();
    const answers = await Promise.all([
      renewals.renew({ keyId: held.keyId, lease: held.lease }), // renews the key and its hold
      renewals.renew({ keyId: first.keyId === held.keyId ? second.keyId : first.keyId }),
      renewals.renew({ keyId: "no-such-key" }), // a bad item is answered; the stream goes on
    ]);
    renewals.end();
    await watching;
    console.log("codes:", answers.map((answer) => Code[answer.code]));
  } finally {
    stop.abort();
    tokens.close();
  }
}
