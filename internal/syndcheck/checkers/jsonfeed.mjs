// Validates JSON Feed files against the published JSON Schema of JSON Feed
// 1.1 (schema-v1.1.json of the npm package jsonfeed-schema, by the schema's
// author; pinned in package-lock.json) with ajv and its formats. Prints one
// JSON object per file: {path, valid, errors}. Usage: node jsonfeed.mjs FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve("jsonfeed-schema/schema-v1.1.json"), "utf8"));
delete schema.$schema; // draft-07, ajv's default
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);
const out = [];
for (const path of process.argv.slice(2)) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    out.push({ path, valid: false, errors: [String(e)] });
    continue;
  }
  const valid = validate(doc);
  out.push({ path, valid, errors: valid ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`) });
}
process.stdout.write(JSON.stringify(out));
