// A webhook receiver for the tests: verifies every request with the
// Standard Webhooks reference implementation (npm standardwebhooks) and
// appends what it accepted to a file (one JSON line per request, so that
// what it saw survives its own restarts): {id, verified, duplicate, body}.
// A request that does not verify is answered 400 and recorded with
// verified false. With HOLD_MS, each request is held that long before it
// is recorded and answered (a slow receiver), and its arrival is appended
// to FILE.arrivals at once, so a test can tell that one is being held.
//
//   node webhook-receiver.mjs PORT SECRET FILE [HOLD_MS]
import { createServer } from "node:http";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const [port, secret, file, holdArg] = process.argv.slice(2);
const hold = Number(holdArg ?? 0);
const wh = new Webhook(secret);
const seen = new Set();
if (existsSync(file)) {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line) seen.add(JSON.parse(line).id);
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (hold > 0) {
      appendFileSync(file + ".arrivals", (req.headers["webhook-id"] ?? "") + "\n");
      setTimeout(() => answer(req, res, chunks), hold);
    } else {
      answer(req, res, chunks);
    }
  });
});

function answer(req, res, chunks) {
  const body = Buffer.concat(chunks).toString("utf8");
  const id = req.headers["webhook-id"] ?? "";
  let verified = true;
  let error = "";
  try {
    wh.verify(body, req.headers);
  } catch (e) {
    verified = false;
    error = String(e && e.message);
  }
  const duplicate = verified && seen.has(id);
  if (verified) seen.add(id);
  appendFileSync(file, JSON.stringify({ id, verified, duplicate, error, body: verified ? JSON.parse(body) : null }) + "\n");
  res.writeHead(verified ? 204 : 400);
  res.end();
}
server.listen(Number(port), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => process.exit(0));
