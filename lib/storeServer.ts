// The docker substrate's artifact store: a server container running Debian's nginx that stands in
// for a Swift container with temporary URLs. Objects live under /releases/NAME; a GET needs a
// signature that has not expired (nginx's secure_link), a PUT the upload user's password (HTTP
// basic auth, WebDAV's PUT); nothing else is served. Pure functions from plain data to text.
import { createHash, createHmac } from "node:crypto";
import { cloudConfig, sshHostKeyConfig, SshHostKey, WriteFile, writeFile } from "./cloudInit";
import { objectName, publishCopyScript } from "./holoMaker";
import { shellQuote } from "./shell";

/** Where the objects are, below the store's base URL. */
export const storeObjectsPath = "/releases";
/** What the store's nginx takes of one PUT; a larger upload gets HTTP 413. */
export const storeMaxObjectMegabytes = 1024;

const dataDir = "/var/lib/holodeck-store";
const configPath = "/etc/nginx/conf.d/holodeck-store.conf";
const htpasswdPath = "/etc/nginx/holodeck-store.htpasswd";
export const storeAccessLog = "/var/log/nginx/holodeck-store.access.log";

/** Inputs of {@link renderStoreUserData}. */
export interface StoreUserDataArgs {
    /** The store server's SSH host key: the only one its sshd offers. */
    readonly sshHostKey: SshHostKey;
    /** Key of the download signatures (see {@link signStoreUrl}): 32 or more letters and digits. */
    readonly signingSecret: string;
    /** The one user who may upload (PUT). */
    readonly uploadUser: string;
    /** That user's password: 24 or more letters and digits (a generated one: the store keeps a fast hash of it). */
    readonly uploadPassword: string;
    /** TCP port nginx listens on (default 80). */
    readonly port?: number;
}

function check(ok: boolean, problem: string): void {
    if (!ok) throw new Error(`artifact store: ${problem}`);
}

// nginx reads the secret inside a quoted string, where `$`, `\` and quotes mean something.
function checkSecret(secret: string): void {
    check(/^[A-Za-z0-9]{32,}$/.test(secret), "the signing secret must be 32 or more letters and digits");
}

function checkCredential(user: string, password: string): void {
    check(/^[a-z][a-z0-9_-]{0,31}$/.test(user), `the upload user must be lowercase letters, digits, "_" or "-" (at most 32), not ${JSON.stringify(user)}`);
    check(/^[A-Za-z0-9]{24,}$/.test(password), "the upload password must be 24 or more letters and digits");
}

/**
 * The htpasswd line of `user`: `{SSHA}` (base64 of SHA-1 over password and salt, then the salt),
 * a scheme nginx's auth_basic reads itself. The salt is an HMAC of the user under the password, so
 * the same credential always gives the same line (a new line would replace the store's container
 * on every `up`) and the line tells nothing the hash does not. One fast hash suffices: the
 * password is a generated one of 24 or more letters and digits (over 140 bits), beyond any search.
 */
export function storeHtpasswdLine(user: string, password: string): string {
    checkCredential(user, password);
    const salt = createHmac("sha256", password).update(`holodeck-store htpasswd salt\0${user}`).digest().subarray(0, 12);
    const digest = createHash("sha1").update(password).update(salt).digest();
    return `${user}:{SSHA}${Buffer.concat([digest, salt]).toString("base64")}\n`;
}

/**
 * nginx's site. Downloads: secure_link recomputes MD5("<expires><path> <secret>") and compares
 * it with the `md5` argument; a wrong or missing one is 403, an expired one 410. Uploads: a PUT
 * is written to a temporary file beside the objects and renamed over the object, so a reader
 * sees the old bytes or the new, never part; it replaces an object of that name as Swift does.
 * The access log holds the path without its query: a signature grants a download until it
 * expires, so it is no more logged than a password.
 */
function nginxSite(signingSecret: string, port: number): string {
    return `# Holodeck's artifact store (lib/storeServer.ts). Holds the download signing secret: root only.
log_format holodeck_store '$remote_addr [$time_local] "$request_method $uri $server_protocol" $status $body_bytes_sent expires=$arg_expires user="$remote_user"';

# auth_basic is off but for uploads.
map $request_method $holodeck_store_realm {
    PUT "Holodeck artifact store";
    default off;
}

server {
    listen ${port} default_server;
    server_name _;
    server_tokens off;
    root ${dataDir};
    access_log ${storeAccessLog} holodeck_store;
    # An error line would quote the request, signature included.
    log_not_found off;
    client_body_temp_path ${dataDir}/incoming;
    client_max_body_size ${storeMaxObjectMegabytes}m;

    location / {
        return 404;
    }

    location ~ "^${storeObjectsPath}/${objectName.source.slice(1, -1)}$" {
        if ($request_method !~ "^(GET|HEAD|PUT)$") {
            return 405;
        }
        secure_link $arg_md5,$arg_expires;
        secure_link_md5 "$secure_link_expires$uri ${signingSecret}";
        set $holodeck_store_download "$request_method:$secure_link";
        if ($holodeck_store_download ~ "^(GET|HEAD):$") {
            return 403;
        }
        if ($holodeck_store_download ~ "^(GET|HEAD):0$") {
            return 410;
        }
        auth_basic $holodeck_store_realm;
        auth_basic_user_file ${htpasswdPath};
        dav_methods PUT;
        create_full_put_path off;
        dav_access user:rw;
    }
}
`;
}

/**
 * User data of the store server (the server image, which carries nginx disabled): its SSH host
 * key, nginx's site and the upload user's htpasswd line, then the object directories and nginx
 * started. The same inputs render the same document.
 */
export function renderStoreUserData(args: StoreUserDataArgs): string {
    const port = args.port ?? 80;
    check(Number.isInteger(port) && port >= 1 && port <= 65535, `the port must be a whole number from 1 to 65535, not ${port}`);
    checkSecret(args.signingSecret);
    // The worker processes (www-data) read the htpasswd file at each upload; only the master
    // (root) reads the site, which holds the signing secret.
    const htpasswd: WriteFile = { path: htpasswdPath, content: storeHtpasswdLine(args.uploadUser, args.uploadPassword), owner: "root:www-data", permissions: "0640" };
    return cloudConfig({
        ...sshHostKeyConfig(args.sshHostKey),
        write_files: [writeFile(configPath, nginxSite(args.signingSecret, port), "0600"), htpasswd],
        runcmd: [
            "set -e",
            `install -d -o root -g www-data -m 0750 ${dataDir}`,
            // incoming/ beside releases/: an upload is renamed into place on the same file system.
            `install -d -o www-data -g www-data -m 0700 ${dataDir}${storeObjectsPath} ${dataDir}/incoming`,
            "systemctl enable --now nginx",
        ],
    });
}

function parseStoreBase(baseUrl: string): URL {
    let url: URL | undefined;
    try {
        url = new URL(baseUrl);
    } catch {
        // Reported below.
    }
    check(url !== undefined && /^https?:$/.test(url.protocol) && !url.username && !url.password && (url.pathname === "/" || url.pathname === "")
        && !url.search && !url.hash, `the store's base URL must be http(s)://HOST[:PORT] with no path, query or credentials, not ${JSON.stringify(baseUrl)}`);
    return url!;
}

/** URL of the store's objects (what holodeck-publish's --put-url takes). */
export function storeObjectsUrl(baseUrl: string): string {
    return `${parseStoreBase(baseUrl).origin}${storeObjectsPath}`;
}

/** URL of `object` in the store at `baseUrl`. */
export function storeObjectUrl(baseUrl: string, object: string): string {
    check(objectName.test(object), `${JSON.stringify(object)} is not an object name (letters, digits, . _ + ~ -)`);
    return `${storeObjectsUrl(baseUrl)}/${object}`;
}

/**
 * A download URL of `objectUrl` (see {@link storeObjectUrl}) valid until `expires` (Unix seconds):
 * `md5` is MD5("<expires><path> <secret>") in unpadded base64url, as nginx's secure_link takes it.
 * MD5 is what secure_link offers; with a secret of 32 or more letters and digits at the end, and
 * only the program signing, nobody can make a URL it did not sign.
 */
export function signStoreUrl(objectUrl: string, secret: string, expires: number): string {
    checkSecret(secret);
    check(Number.isInteger(expires) && expires > 0, `a signature's expiry must be a positive whole number of seconds, not ${expires}`);
    const url = new URL(objectUrl);
    const name = url.pathname.slice(storeObjectsPath.length + 1);
    check(/^https?:$/.test(url.protocol) && !url.username && !url.password && url.pathname.startsWith(`${storeObjectsPath}/`) && objectName.test(name)
        && !url.search && !url.hash, `${objectUrl} is not an object URL of the store (http(s)://HOST[:PORT]${storeObjectsPath}/NAME, no query)`);
    const signature = createHash("md5").update(`${expires}${url.pathname} ${secret}`).digest("base64url");
    return `${url.origin}${url.pathname}?md5=${signature}&expires=${expires}`;
}

/** The build minion's command that uploads the release whose manifest is at $manifest (credential on stdin). */
export function storePublishCommand(baseUrl: string): string {
    return `/usr/local/bin/holodeck-publish --manifest "$manifest" --put-url ${shellQuote(storeObjectsUrl(baseUrl))}`;
}

/** What {@link storePublishCommand} and {@link storeCopyScript} read on stdin first: the upload user and password. */
export function storeCredentialLines(user: string, password: string): string {
    checkCredential(user, password);
    return `${user}\n${password}\n`;
}

/**
 * The remote script that copies a promoted release into the store as `object` with
 * holodeck-publish in $HOME (stdin: {@link storeCredentialLines}, then the source's signed URL).
 */
export function storeCopyScript(release: { readonly packageName: string; readonly version: string; readonly sha256: string }, object: string, baseUrl: string): string {
    // Checked here: an object name the store's URLs cannot hold is refused before anything runs.
    storeObjectUrl(baseUrl, object);
    return publishCopyScript(release, object, ["--put-url", storeObjectsUrl(baseUrl)]);
}
