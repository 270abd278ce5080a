// Validates an OpenAPI 3.1 document: `node validate.mjs FILE` exits 0 when it is valid and 1 with
// the errors on stderr when it is not (2 for a usage error or unreadable file).
//
// Three layers:
//  1. the official OAS 3.1 JSON Schema (@seriousme/openapi-schema-validator), which also checks
//     that every local $ref resolves;
//  2. every Schema Object compiled by Ajv in draft 2020-12 strict mode, since the OAS schema
//     accepts any object there (unknown keywords, a `required` naming no property, a malformed
//     `enum` or `pattern` all fail here);
//  3. rules the JSON Schemas cannot express: unique operationIds, path templates whose variables
//     are exactly the declared path parameters, no two paths equal up to template names,
//     parameters unique per location.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule.default ?? addFormatsModule;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function fail(errors) {
    for (const e of errors) console.error(typeof e === "string" ? e : JSON.stringify(e, null, 2));
    console.error(`${errors.length} error(s)`);
    process.exit(1);
}

const file = process.argv[2];
if (!file) {
    console.error("usage: node validate.mjs FILE");
    process.exit(2);
}
let spec;
try {
    spec = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exit(2);
}

// 1. The OpenAPI schema.
const validator = new Validator();
const result = await validator.validate(structuredClone(spec));
if (!result.valid) fail(Array.isArray(result.errors) ? result.errors : [result.errors]);
if (validator.version !== "3.1") fail([`expected OpenAPI 3.1, found ${validator.version}`]);

const errors = [];

// 2. Schema Objects. Component schemas become $defs of one resource so that $refs between them
// resolve; every other schema refers into that resource.
const BASE = "https://m.invalid/components.json";
const rewrite = (node, prefix) => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, prefix));
    if (node === null || typeof node !== "object") return node;
    const out = {};
    for (const [k, v] of Object.entries(node)) {
        out[k] =
            k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/")
                ? prefix + "#/$defs/" + v.slice("#/components/schemas/".length)
                : rewrite(v, prefix);
    }
    return out;
};
// Strict mode minus two style rules: a tuple may be shorter than its prefixItems (Frappe's filter
// triples), and `required` inside anyOf names properties of the parent (checked below instead).
const ajv = new Ajv2020({
    strict: true,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
});
addFormats(ajv);
ajv.addFormat("password", true); // an OpenAPI format: a UI hint
ajv.addVocabulary(["discriminator", "xml", "externalDocs", "example"]); // the OAS dialect
const components = spec.components?.schemas ?? {};
try {
    ajv.addSchema({ $id: BASE, $defs: rewrite(components, "") });
} catch (e) {
    errors.push(`components.schemas: ${e.message}`);
}
// An object schema whose `required` names a key it does not declare is a typo.
const checkRequired = (schema, where) => {
    if (Array.isArray(schema)) return schema.forEach((s, i) => checkRequired(s, `${where}[${i}]`));
    if (schema === null || typeof schema !== "object") return;
    if (Array.isArray(schema.required) && schema.properties && !schema.patternProperties) {
        for (const name of schema.required) {
            if (!(name in schema.properties)) errors.push(`${where}: required '${name}' is not a property`);
        }
    }
    for (const [k, v] of Object.entries(schema)) {
        if (k !== "enum" && k !== "const" && k !== "default" && k !== "examples") {
            checkRequired(v, `${where}.${k}`);
        }
    }
};
const compile = (schema, where) => {
    checkRequired(schema, where);
    try {
        ajv.compile(rewrite(schema, BASE));
    } catch (e) {
        errors.push(`${where}: ${e.message}`);
    }
};
for (const [name, schema] of Object.entries(components)) {
    checkRequired(schema, `components.schemas.${name}`);
    compile({ $ref: `#/components/schemas/${name}` }, `components.schemas.${name}`);
}
// Schemas outside components: under parameters, headers and media types ("schema" keys).
const walk = (node, where) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    if (node === null || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node)) {
        if (where === "components" && k === "schemas") continue;
        if (k === "schema" && v !== null && typeof v === "object") compile(v, `${where}.${k}`);
        else walk(v, `${where}.${k}`);
    }
};
walk(spec.paths, "paths");
walk(spec.components ?? {}, "components");

// 3. Rules beyond the JSON Schemas.
const resolve = (obj) => {
    // Follows local refs ("#/components/parameters/limit").
    while (obj && typeof obj.$ref === "string" && obj.$ref.startsWith("#/")) {
        obj = obj.$ref
            .slice(2)
            .split("/")
            .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
            .reduce((o, p) => o?.[p], spec);
    }
    return obj;
};
const operationIds = new Map();
const shapes = new Map();
for (const [path, item] of Object.entries(spec.paths ?? {})) {
    const vars = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    if (new Set(vars).size !== vars.length) errors.push(`${path}: a template variable repeats`);
    if (/[\s"<>\\^`|]/.test(path.replace(/\{[^}]+\}/g, ""))) {
        errors.push(`${path}: characters that are not allowed in a URL path`);
    }
    const shape = path.replace(/\{[^}]+\}/g, "{}");
    if (shapes.has(shape)) errors.push(`${path}: same shape as ${shapes.get(shape)}`);
    shapes.set(shape, path);

    const shared = (item.parameters ?? []).map(resolve);
    for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const where = `${method.toUpperCase()} ${path}`;
        if (op.operationId !== undefined) {
            if (operationIds.has(op.operationId)) {
                errors.push(
                    `${where}: operationId '${op.operationId}' also used by ${operationIds.get(op.operationId)}`,
                );
            }
            operationIds.set(op.operationId, where);
        }
        const own = (op.parameters ?? []).map(resolve);
        const seen = new Set();
        for (const p of own) {
            const k = `${p.in}:${p.name}`;
            if (seen.has(k)) errors.push(`${where}: parameter ${k} is declared twice`);
            seen.add(k);
        }
        // Operation parameters override path-item ones of the same name and location.
        const params = [...own, ...shared.filter((p) => !seen.has(`${p.in}:${p.name}`))];
        const pathParams = params.filter((p) => p.in === "path").map((p) => p.name);
        for (const v of vars) {
            if (!pathParams.includes(v)) errors.push(`${where}: no path parameter '${v}'`);
        }
        for (const p of params.filter((p) => p.in === "path")) {
            if (!vars.includes(p.name)) errors.push(`${where}: path parameter '${p.name}' is not in the path`);
        }
        for (const [code, response] of Object.entries(op.responses ?? {})) {
            if (!resolve(response)) errors.push(`${where}: response ${code} does not resolve`);
        }
    }
}
if (errors.length) fail(errors);
console.log(`${file}: valid OpenAPI ${spec.openapi}`);
