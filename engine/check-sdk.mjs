// Compares a bridged plugin's generated schema.json with the installed Node SDK of the same
// provider (@pulumi/<schema name>): tokens, input and output property names of resources,
// functions, nested types and the provider config. engine/build-plugin.sh runs it.
// Usage: node check-sdk.mjs SCHEMA_JSON SDK_DIR [TOKEN...]
// Prints every difference; exits 1 if a listed TOKEN (what the program uses) is missing, has an
// input or output that only the SDK knows, a required input the SDK cannot set or lets a program
// omit, or a list where the other side has a single value.
import console from "node:console";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import process from "node:process";

const [schemaPath, sdkDir, ...strict] = process.argv.slice(2);
if (!schemaPath || !sdkDir) {
    console.error("usage: node check-sdk.mjs SCHEMA_JSON SDK_DIR [TOKEN...]");
    process.exit(2);
}
// The SDK's own dependency tree provides the TypeScript parser.
const ts = createRequire(resolve(sdkDir, "package.json"))("typescript");
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const pkg = schema.name;

function files(dir, suffix) {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (name === "node_modules") return [];
        return statSync(path).isDirectory() ? files(path, suffix) : path.endsWith(suffix) ? [path] : [];
    });
}

// Properties of every interface and class in a .d.ts, keyed by "namespace.Name":
// name -> { list, optional }.
function declarations(path) {
    const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest);
    const found = new Map();
    const visit = (node, namespace) => {
        if (ts.isModuleDeclaration(node)) {
            const inner = namespace ? `${namespace}.${node.name.text}` : node.name.text;
            ts.forEachChild(node.body, (child) => visit(child, inner));
            return;
        }
        if (ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) {
            const properties = node.members
                .filter((m) => (ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) && m.name && ts.isIdentifier(m.name))
                .filter((m) => !(m.modifiers ?? []).some((mod) => mod.kind === ts.SyntaxKind.StaticKeyword))
                .map((m) => [m.name.text, {
                    list: /\[\](\s*\|\s*undefined)?>?$/.test(m.type?.getText(source).trim() ?? ""),
                    optional: m.questionToken !== undefined,
                }]);
            found.set(namespace ? `${namespace}.${node.name.text}` : node.name.text, new Map(properties));
        }
        ts.forEachChild(node, (child) => visit(child, namespace));
    };
    visit(source, "");
    return found;
}

// The nested types that the checked tokens reach are checked as strictly.
const strictTypes = new Set();
const reach = (node) => {
    if (Array.isArray(node)) return node.forEach(reach);
    if (!node || typeof node !== "object") return;
    const ref = typeof node.$ref === "string" && node.$ref.startsWith("#/types/") ? node.$ref.slice(8) : undefined;
    if (ref && !strictTypes.has(ref)) {
        strictTypes.add(ref);
        reach(schema.types[ref]);
    }
    Object.values(node).forEach(reach);
};
strict.forEach((token) => reach(schema.resources[token] ?? schema.functions[token]));

const problems = [];
const notes = [];
function compare(what, token, sdk, plugin, required = []) {
    const onlySdk = [...sdk.keys()].filter((n) => !plugin.has(n));
    const onlySchema = [...plugin.keys()].filter((n) => !sdk.has(n));
    const unsettable = required.filter((n) => !sdk.has(n));
    const omittable = required.filter((n) => sdk.get(n)?.optional);
    const shape = [...sdk.keys()].filter((n) => plugin.has(n) && plugin.get(n).list !== sdk.get(n).list);
    const strictOne = strict.includes(token) || strictTypes.has(token);
    const line = (kind, names) => `${token} ${what}: ${kind}: ${names.join(", ")}`;
    const removed = removedUpstream[token] ?? [];
    const unknown = onlySdk.filter((n) => !removed.includes(n));
    if (unknown.length) (strictOne ? problems : notes).push(line("SDK only", unknown));
    if (onlySdk.length > unknown.length) notes.push(line("removed upstream since the version the SDK bridges", onlySdk.filter((n) => removed.includes(n))));
    if (unsettable.length) (strictOne ? problems : notes).push(line("required but not in the SDK", unsettable));
    if (omittable.length) (strictOne ? problems : notes).push(line("required but optional in the SDK", omittable));
    if (shape.length) (strictOne ? problems : notes).push(line("list in one, single value in the other", shape));
    if (onlySchema.length) notes.push(line("plugin only", onlySchema));
}

// Inputs that the Terraform OpenStack provider dropped between v1.54.1 (what @pulumi/openstack
// 3.15.2 bridges) and v3.4.0: no mapping can bring them back, and a program that sets one fails
// in the provider's Check.
const removedUpstream = {
    "openstack:compute/instance:Instance": ["accessIpV4", "accessIpV6", "floatingIp", "volumes"],
    "openstack:compute/InstanceNetwork:InstanceNetwork": ["floatingIp"],
    "openstack:networking/getSubnet:getSubnet": ["dhcpDisabled"],
    "openstack:networking/router:Router": ["externalGateway"],
    "openstack:networking/subnet:Subnet": ["allocationPoolsCollection", "hostRoutes"],
};

const props = (o) => new Map(Object.entries(o ?? {}).map(([name, spec]) => [name, { list: spec.type === "array" }]));
const seen = new Set();
// scripts/ (the plugin installer of native SDKs such as @pulumi/command) declares no types.
for (const js of files(sdkDir, ".js").filter((js) => existsSync(js.replace(/\.js$/, ".d.ts")))) {
    const text = readFileSync(js, "utf8");
    const dts = declarations(js.replace(/\.js$/, ".d.ts"));
    for (const [, token] of text.matchAll(new RegExp(`__pulumiType = '(${pkg}:[^']+)'`, "g"))) {
        seen.add(token);
        const name = token.split(":")[2];
        const spec = schema.resources[token];
        if (!spec) {
            (strict.includes(token) ? problems : notes).push(`${token}: resource not in the plugin (${relative(sdkDir, js)})`);
            continue;
        }
        compare("inputs", token, dts.get(`${name}Args`) ?? new Map(), props(spec.inputProperties), spec.requiredInputs ?? []);
        compare("outputs", token, dts.get(name) ?? new Map(), props(spec.properties));
    }
    for (const [, token] of text.matchAll(new RegExp(`invoke(?:Output)?\\("(${pkg}:[^"]+)"`, "g"))) {
        if (seen.has(token)) continue;
        seen.add(token);
        const name = token.split(":")[2];
        const spec = schema.functions[token];
        if (!spec) {
            (strict.includes(token) ? problems : notes).push(`${token}: function not in the plugin (${relative(sdkDir, js)})`);
            continue;
        }
        const pascal = name[0].toUpperCase() + name.slice(1);
        compare("inputs", token, dts.get(`${pascal}Args`) ?? new Map(), props(spec.inputs?.properties), spec.inputs?.required ?? []);
        compare("outputs", token, dts.get(`${pascal}Result`) ?? new Map(), props(spec.outputs?.properties));
    }
}
for (const token of strict) {
    if (!seen.has(token)) problems.push(`${token}: not a token of the SDK in ${sdkDir}`);
}

const provider = declarations(join(sdkDir, "provider.d.ts")).get("ProviderArgs") ?? new Map();
compare("provider config", pkg, provider, props(schema.provider?.inputProperties), schema.provider?.requiredInputs ?? []);

// Nested types: types/input.d.ts and types/output.d.ts declare them per module namespace, in
// PascalCase even where the token (a function's types) starts in lower case. An SDK without
// nested types (@pulumi/random) has no types/ directory.
const typeTokens = new Map(Object.keys(schema.types ?? {}).map((t) => [t.toLowerCase(), t]));
for (const [file, kind] of [["input.d.ts", "input type"], ["output.d.ts", "output type"]]) {
    if (!existsSync(join(sdkDir, "types", file))) continue;
    for (const [qualified, names] of declarations(join(sdkDir, "types", file))) {
        const [module, name] = qualified.split(".");
        if (!name) continue;
        // Bridged SDKs name types pkg:module/Name:Name; native ones (command) pkg:module:Name, and
        // their input types NameArgs.
        const bare = kind === "input type" ? name.replace(/Args$/, "") : name;
        const token = typeTokens.get(`${pkg}:${module}/${name}:${name}`.toLowerCase()) ?? typeTokens.get(`${pkg}:${module}:${bare}`.toLowerCase());
        if (!token) {
            notes.push(`${pkg}:${module}/${name}:${name}: ${kind} not in the plugin`);
            continue;
        }
        const required = kind === "input type" ? schema.types[token].required ?? [] : [];
        compare(kind, token, names, props(schema.types[token].properties), required);
    }
}

for (const note of notes) console.error(`note: ${note}`);
for (const problem of problems) console.error(`MISMATCH: ${problem}`);
console.error(`check-sdk: ${seen.size} SDK tokens, ${problems.length} mismatches on the checked tokens, ${notes.length} other differences`);
process.exit(problems.length ? 1 : 0);
