import { request } from "node:http";
import { parseSamples, type Sample } from "../test/support/prom-text";

/** GET /metrics on its own connection (so the scrape leaves no keep-alive socket behind in the server's handle count). */
export function scrape(httpAddress: string): Promise<Sample[]> {
  const colon = httpAddress.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const req = request({ host: httpAddress.slice(0, colon), port: Number(httpAddress.slice(colon + 1)), path: "/metrics", agent: false, headers: { connection: "close" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => (res.statusCode === 200 ? resolve(parseSamples(text)) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
