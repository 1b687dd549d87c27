#!/usr/bin/env node
// tests/api/openapi-check.mjs FILE — validates an OpenAPI 3.1 document
// (GET /v1/openapi.json, saved to FILE) three ways, printing one line per
// problem and exiting 1 if there is any:
//
//  1. the document against the OpenAPI 3.1 schema
//     (@seriousme/openapi-schema-validator);
//  2. every schema in it (components and inline) compiled by Ajv in JSON
//     Schema 2020-12 strict mode, with components/schemas registered so
//     that $refs resolve: a misspelt type, a keyword of the wrong shape or
//     an unknown keyword fails here, which step 1 does not look into;
//  3. what neither schema can say (OpenAPI 3.1 §4.8.8-4.8.12): every
//     {name} of a path has exactly one required "in: path" parameter and
//     every path parameter appears in the path; operationIds are unique;
//     a parameter is not listed twice.
//
// Needs `make deps` (npm ci into ./node_modules); works offline after it.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";

const file = process.argv[2];
if (!file) {
	console.error("usage: openapi-check.mjs OPENAPI.json");
	process.exit(2);
}
const doc = JSON.parse(readFileSync(file, "utf8"));
const problems = [];

// 1. the document's structure
const res = await new Validator().validate(doc);
if (!res.valid)
	for (const e of [].concat(res.errors))
		problems.push("openapi 3.1 schema: " + JSON.stringify(e));

// 2. every schema, strict 2020-12.  Each is compiled as the root of a
// schema that also holds the document's components (an ignored keyword),
// so "#/components/schemas/X" resolves as it does in the document.
const schemas = doc.components?.schemas ?? {};
function check(where, schema) {
	const ajv = new Ajv2020({ strict: true, allErrors: true, discriminator: true });
	ajv.addKeyword("components");
	try {
		ajv.compile({ ...schema, components: { schemas } });
	} catch (e) {
		problems.push(where + ": " + e.message);
	}
}
// Every inline schema under paths, with its location.
function* inlineSchemas(obj, where) {
	if (!obj || typeof obj !== "object")
		return;
	for (const [k, v] of Object.entries(obj)) {
		if (k === "schema" && v && typeof v === "object")
			yield [where + "/schema", v];
		else
			yield* inlineSchemas(v, where + "/" + k);
	}
}
for (const [name, s] of Object.entries(schemas))
	check("components/schemas/" + name, s);
for (const [where, s] of inlineSchemas(doc.paths, "paths"))
	if (Object.keys(s).join() !== "$ref") // a component: checked above
		check(where, s);

// 3. path templating, parameters, operationIds
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const opIds = new Map();
for (const [path, item] of Object.entries(doc.paths ?? {})) {
	const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
	for (const method of methods) {
		const op = item[method];
		if (!op)
			continue;
		const at = method.toUpperCase() + " " + path;
		const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
		const seen = new Set();
		for (const p of params) {
			const key = p.in + ":" + p.name;
			if (seen.has(key))
				problems.push(at + ": parameter " + key + " listed twice");
			seen.add(key);
			if (p.in === "path" && !names.includes(p.name))
				problems.push(at + ": path parameter " + p.name + " is not in the path");
			if (p.in === "path" && p.required !== true)
				problems.push(at + ": path parameter " + p.name + " must be required");
		}
		for (const n of names)
			if (!seen.has("path:" + n))
				problems.push(at + ": {" + n + "} has no path parameter");
		if (op.operationId) {
			if (opIds.has(op.operationId))
				problems.push(at + ": operationId " + op.operationId +
					" also on " + opIds.get(op.operationId));
			opIds.set(op.operationId, at);
		}
	}
}

for (const p of problems)
	console.log(p);
console.log(problems.length ? problems.length + " problems" : "valid");
process.exit(problems.length ? 1 : 0);
