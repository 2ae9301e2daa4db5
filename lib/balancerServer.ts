// The docker substrate's balancer: a server running Debian's haproxy 2.6 in master-worker mode
// (Debian's unit: -Ws, a master CLI socket). Pure functions from plain data to text: the server's
// user data, and the scripts Pulumi runs on it as root over SSH.
//
// How a release goes live (balancerSwitchScript), and why so:
// 1. Its backend is written next to the live one's and haproxy reloads. The reload is seamless:
//    the new worker takes the listening sockets over from the old one (2.6's master passes them
//    through its socketpair with the worker, `-x sockpair@N`, so the admin socket need not expose
//    them); the old one finishes what it has and, with `idle-close-on-response`, answers one more
//    request on each idle keep-alive connection with `Connection: close` instead of closing it
//    under a client that may be sending. Traffic still goes to the live release: the frontend
//    picks its backend from a map, which the reload does not change.
// 2. The script waits until the old worker has gone (so no process with the old routing is left)
//    and until every server of the new backend has passed a real check (L7OK: after a reload
//    haproxy presumes servers UP before their first check, so UP alone proves nothing).
// 3. One `set map` over the admin socket flips the frontend to the new backend: atomic, no reload,
//    every request after it goes to the new release, requests in flight finish where they were.
// A reload alone (the backend swapped in the config) would put unchecked servers in front of
// users, and the old worker would go on answering its idle keep-alive connections with the old
// release after the script returned (up to `timeout http-keep-alive`). Changing the servers of
// one backend at runtime cannot switch all of them at once: the releases would mix.
import { isIPv4 } from "node:net";
import { cloudConfig, sshHostKeyConfig, SshHostKey, writeFile } from "./cloudInit";
import { heredoc, shellQuote } from "./shell";

/** Where the balancer's configuration lives: haproxy loads every *.cfg of it, in name order. */
export const balancerConfigDir = "/etc/haproxy/holodeck";
/** The map the frontend picks its backend from: one line, `live <backend>`. */
export const liveMapPath = `${balancerConfigDir}/live.map`;
/** The stats socket at admin level: root only. */
export const adminSocketPath = "/run/haproxy/admin.sock";
/** The master CLI (process list, reloads): root only. */
export const masterSocketPath = "/run/haproxy-master.sock";
/** Response header naming the release that served a request. */
export const releaseHeader = "X-Holodeck-Release";
/** The backend the frontend uses while no release is live: it answers 503. */
export const noReleaseBackend = "no-release";
/** How long an old worker may finish its requests after a reload, in seconds. */
export const hardStopAfterSeconds = 30;

const baseConfigPath = `${balancerConfigDir}/00-balancer.cfg`;
const releaseIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const hostnamePattern = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Inputs of {@link renderBalancerUserData}. */
export interface BalancerUserDataArgs {
    /** The balancer's SSH host key: the only one its sshd offers. */
    readonly sshHostKey: SshHostKey;
    /** Port the HTTP frontend listens on (default 80). */
    readonly port?: number;
}

/** Inputs of {@link balancerSwitchScript}. */
export interface BalancerSwitchArgs {
    /** The release to switch to. */
    readonly releaseId: string;
    /** Its servers: IPv4 addresses or host names. */
    readonly servers: readonly string[];
    /** The app's port on the servers. */
    readonly port: number;
    /** How long its servers may take to pass their checks, in seconds (default 60). */
    readonly timeoutSeconds?: number;
}

function check(ok: boolean, problem: string): void {
    if (!ok) throw new Error(`balancer: ${problem}`);
}

function checkPort(port: number, what: string): void {
    check(Number.isInteger(port) && port >= 1 && port <= 65535, `${what} must be a TCP port (1-65535), not ${JSON.stringify(port)}`);
}

/** Inputs of {@link balancerCanaryScript}. */
export interface BalancerCanaryArgs {
    /** The release the canary servers run. */
    readonly releaseId: string;
    /** The canary servers: IPv4 addresses or host names. */
    readonly servers: readonly string[];
    /** The app's port on the servers. */
    readonly port: number;
    /** How long the canary serves beside the live release before its verdict, in seconds. */
    readonly soakSeconds: number;
    /** How long its servers may take to pass their first check, in seconds (default 60). */
    readonly timeoutSeconds?: number;
}

/** The backend of release `releaseId`. */
export function releaseBackend(releaseId: string): string {
    check(releaseIdPattern.test(releaseId), `releaseId must be 1-63 letters, digits, "_" or "-", starting with a letter or digit, not ${JSON.stringify(releaseId)}`);
    return `release-${releaseId}`;
}

/** haproxy's configuration of the balancer, less the releases' backends. */
export function balancerBaseConfig(port = 80): string {
    checkPort(port, "port");
    return [
        "global",
        // To the journal through the unit's stdout (the chroot has no /dev/log in a container).
        "    log stdout format short local0",
        "    chroot /var/lib/haproxy",
        "    user haproxy",
        "    group haproxy",
        // Created by the master, as root, before it drops privileges: only root can connect.
        `    stats socket ${adminSocketPath} mode 600 level admin`,
        "    stats timeout 30s",
        `    hard-stop-after ${hardStopAfterSeconds}s`,
        "",
        "defaults",
        "    log global",
        "    mode http",
        "    option httplog",
        "    option dontlognull",
        "    option idle-close-on-response",
        "    timeout connect 5s",
        "    timeout client 50s",
        "    timeout server 50s",
        "    timeout http-keep-alive 10s",
        "",
        "frontend http",
        `    bind :${port}`,
        `    use_backend %[str(live),map(${liveMapPath},${noReleaseBackend})]`,
        "",
        `backend ${noReleaseBackend}`,
        `    http-request return status 503 content-type text/plain string "no release is live on this balancer yet"`,
        "",
    ].join("\n");
}

function checkServers(args: { releaseId: string; servers: readonly string[]; port: number }): void {
    checkPort(args.port, "port");
    check(args.servers.length > 0, `release ${args.releaseId} has no servers`);
    for (const server of args.servers) {
        check(isIPv4(server) || (hostnamePattern.test(server) && !/^[0-9.]+$/.test(server)),
            `server ${JSON.stringify(server)} of release ${args.releaseId} is neither an IPv4 address nor a host name`);
    }
    check(new Set(args.servers).size === args.servers.length, `release ${args.releaseId} lists a server twice: ${args.servers.join(", ")}`);
}

function checkSeconds(seconds: number, what: string): void {
    check(Number.isInteger(seconds) && seconds > 0, `${what} must be a positive whole number, not ${JSON.stringify(seconds)}`);
}

// A server passes one check to be UP, and fails two to go DOWN (haproxy presumes static servers UP at start).
const serverChecks = "check inter 1s fall 2 rise 1";

/**
 * The backend of one release: its servers, checked with GET /health, round robin. A server's name
 * starts with its release's id, which the response header takes from it: a canary admitted into
 * this backend names its own release.
 */
export function releaseBackendConfig(args: BalancerSwitchArgs): string {
    const backend = releaseBackend(args.releaseId);
    checkServers(args);
    return [
        `backend ${backend}`,
        "    balance roundrobin",
        "    option httpchk GET /health",
        "    http-check expect status 200",
        `    http-response set-header ${releaseHeader} %[srv_name,field(1,.)]`,
        ...args.servers.map((server, index) => `    server ${args.releaseId}.s${index} ${server}:${args.port} ${serverChecks}`),
        "",
    ].join("\n");
}

/**
 * User data of the balancer server: its SSH host key, then haproxy configured (the frontend on
 * `port`, answering 503 until a release is switched in; admin and master sockets for root only;
 * logs to the journal) and started by runcmd.
 */
export function renderBalancerUserData(args: BalancerUserDataArgs): string {
    const base = balancerBaseConfig(args.port ?? 80);
    // Read by Debian's unit: it loads the directory, and its master CLI is root's alone.
    const defaults = [`CONFIG="${balancerConfigDir}"`, `EXTRAOPTS="-S ${masterSocketPath},mode,600"`, ""].join("\n");
    // Debian's unit bind-mounts /dev/log into the chroot, which needs a mount namespace that a
    // container without CAP_SYS_ADMIN cannot make (haproxy.service fails with 226/NAMESPACE).
    const dropIn = ["[Service]", "BindReadOnlyPaths=", ""].join("\n");
    return cloudConfig({
        ...sshHostKeyConfig(args.sshHostKey),
        write_files: [
            writeFile(baseConfigPath, base, "0644"),
            writeFile(liveMapPath, `live ${noReleaseBackend}\n`, "0644"),
            writeFile("/etc/default/haproxy", defaults, "0644"),
            writeFile("/etc/systemd/system/haproxy.service.d/holodeck.conf", dropIn, "0644"),
        ],
        runcmd: [
            "set -e",
            `haproxy -c -f ${balancerConfigDir}`,
            "systemctl daemon-reload",
            "systemctl enable --now haproxy",
        ],
    });
}

// One command to one of haproxy's sockets, its answer on stdout (the image has no socat). haproxy
// answers once the client's side is shut.
const socketClient = [
    "haproxy_cli() {",
    `  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\\n")
s.shutdown(socket.SHUT_WR)
while True:
    data = s.recv(65536)
    if not data:
        break
    sys.stdout.write(data.decode())' "$1" "$2"`,
    "}",
];

// The servers of backend $1, one per line, tab-separated: name, address, status, last check's
// status, code and text, requests, 5xx answers, failed responses.
const serverStats = [
    "server_stats() {",
    `  haproxy_cli ${adminSocketPath} "show stat $1 4 -1" | awk -F, -v OFS='\t' '`,
    "    NR == 1 { sub(/^# /, \"\"); for (i = 1; i <= NF; i++) column[$i] = i; next }",
    "    NF > 1 {",
    "      check = $column[\"check_status\"]; sub(/^\\* /, \"\", check)",
    "      print $column[\"svname\"], $column[\"addr\"], $column[\"status\"], check, $column[\"check_code\"], $column[\"last_chk\"], $column[\"stot\"], $column[\"hrsp_5xx\"], $column[\"eresp\"]",
    "    }'",
    "}",
];

/**
 * A bash script, run as root on the balancer, that makes release `releaseId` the live one: it
 * writes the release's backend, reloads haproxy seamlessly, waits for the old worker to go and
 * for every server to pass a check (up to `timeoutSeconds`; else it fails naming each server
 * not up and its check's status, and the live release stays), then switches the frontend to it
 * at once through the admin socket. Idempotent; switches are serialised by a lock.
 */
export function balancerSwitchScript(args: BalancerSwitchArgs): string {
    const backend = releaseBackend(args.releaseId);
    const backendConfig = releaseBackendConfig(args);
    const timeout = args.timeoutSeconds ?? 60;
    checkSeconds(timeout, "timeoutSeconds");
    return [
        "set -euo pipefail",
        ...socketClient,
        ...serverStats,
        `die() { echo "balancer: release ${args.releaseId}: $*" >&2; exit 1; }`,
        `systemctl is-active --quiet haproxy || die "haproxy is not running here (systemctl status haproxy; journalctl -u haproxy)"`,
        "exec 9>/run/holodeck-balancer.lock",
        "flock 9",
        "start=$EPOCHREALTIME",
        `elapsed() { awk -v from="$start" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", now - from }'; }`,
        // The workers' pids, current ones first, then old ones (marked "old").
        "workers() {",
        `  haproxy_cli ${masterSocketPath} 'show proc' | awk '/^# old workers/ { old = 1 } /^[0-9]+[ \\t]+worker/ { print $1, (old ? "old" : "current") }'`,
        "}",
        "",
        "# The live backend and this release's stay; any older one goes.",
        `live=$(awk '$1 == "live" { print $2 }' ${liveMapPath})`,
        "stage=$(mktemp -d)",
        'trap \'rm -rf "$stage"\' EXIT',
        `cp ${baseConfigPath} "$stage/"`,
        `if [ "$live" != ${noReleaseBackend} ] && [ "$live" != ${backend} ]; then cp ${balancerConfigDir}/"$live".cfg "$stage/"; fi`,
        heredoc(`cat >"$stage/${backend}.cfg"`, backendConfig, "HOLODECK_BACKEND", "the backend"),
        `verdict=$(haproxy -c -f "$stage" 2>&1) || die "haproxy refuses the configuration with its backend: $verdict"`,
        `if ! diff -rq "$stage" ${balancerConfigDir} --exclude='live.map*' >/dev/null; then`,
        `  before=$(workers | awk '$2 == "current" { print $1 }') || die "haproxy's master CLI (${masterSocketPath}) does not answer"`,
        `  find ${balancerConfigDir} -maxdepth 1 -name 'release-*.cfg' -delete`,
        `  cp "$stage"/*.cfg ${balancerConfigDir}/`,
        "  systemctl reload haproxy",
        "  deadline=$((SECONDS + 30))",
        "  until now=$(workers | awk '$2 == \"current\" { print $1 }') && [ -n \"$now\" ] && [ \"$now\" != \"$before\" ]; do",
        `    ((SECONDS < deadline)) || die "haproxy started no new worker within 30 s of its reload (journalctl -u haproxy)"`,
        "    sleep 0.2",
        "  done",
        `  echo "balancer: haproxy reloaded with the backend of release ${args.releaseId} ($(elapsed))"`,
        "fi",
        "",
        "# Until the old worker is gone it may serve the old routing: wait for it (haproxy ends it by hard-stop-after).",
        `deadline=$((SECONDS + ${hardStopAfterSeconds + 15}))`,
        "until procs=$(workers) && ! grep -q ' old$' <<<\"$procs\"; do",
        `  ((SECONDS < deadline)) || die "an old haproxy worker is still running ${hardStopAfterSeconds + 15} s after the reload: \${procs//$'\\n'/, }"`,
        "  sleep 0.2",
        "done",
        'echo "balancer: no old worker left ($(elapsed))"',
        "",
        "# Every server must pass a check of its own: UP alone may be haproxy's presumption at start.",
        "not_up() {",
        `  server_stats ${backend} | awk -F'\\t' '`,
        "    { found = 1; if ($3 != \"UP\" || $4 != \"L7OK\") printf \"server %s (%s) is %s, last check %s %s %s\\n\", $1, $2, $3, $4, $5, $6 }",
        `    END { if (!found) print "haproxy does not know the backend ${backend}" }'`,
        "}",
        `deadline=$((SECONDS + ${timeout}))`,
        "until problems=$(not_up) && [ -z \"$problems\" ]; do",
        "  if ((SECONDS >= deadline)); then",
        `    echo "balancer: release ${args.releaseId} is not switched in: its servers did not all pass their health check (GET /health) within ${timeout} s:" >&2`,
        "    echo \"$problems\" >&2",
        `    echo "balancer: the live backend is still $live" >&2`,
        "    exit 1",
        "  fi",
        "  sleep 0.2",
        "done",
        `echo "balancer: the servers of release ${args.releaseId} passed their checks ($(elapsed))"`,
        "",
        `answer=$(haproxy_cli ${adminSocketPath} ${shellQuote(`set map ${liveMapPath} live ${backend}`)})`,
        `[ -z "\${answer//[[:space:]]/}" ] || die "haproxy refused to switch: $answer"`,
        "# Kept on disk too, for the next reload or restart.",
        `printf 'live %s\\n' ${backend} >${liveMapPath}.new`,
        `mv ${liveMapPath}.new ${liveMapPath}`,
        `echo "balancer: release ${args.releaseId} is live (was: $live; $(elapsed))"`,
    ].join("\n");
}

/** The name a canary server of release `releaseId` has in the live backend. */
export function canaryServerName(releaseId: string, index: number): string {
    return `${releaseId}.canary${index}`;
}

/**
 * A bash script, run as root on the balancer, that tries release `releaseId` on its canary
 * servers beside the live release: it adds them to the live backend at runtime (round robin, so
 * they take their share of the requests), once each has passed a check; for `soakSeconds` every
 * one must stay UP with no 5xx answer and no failed response. Then, passed or failed, it withdraws
 * them (maintenance: what they serve finishes, nothing new reaches them), so the live release
 * alone serves again, and it fails naming each server and what it did wrong. With no release live
 * yet, or this one live already, there is nothing to try beside: it says so and passes. Canary
 * servers an interrupted run left are withdrawn first; a reload drops any that remain.
 */
export function balancerCanaryScript(args: BalancerCanaryArgs): string {
    const backend = releaseBackend(args.releaseId);
    checkServers(args);
    const timeout = args.timeoutSeconds ?? 60;
    checkSeconds(timeout, "timeoutSeconds");
    checkSeconds(args.soakSeconds, "soakSeconds");
    const names = args.servers.map((_, index) => canaryServerName(args.releaseId, index));
    return [
        "set -euo pipefail",
        ...socketClient,
        ...serverStats,
        `die() { echo "balancer: the canary of release ${args.releaseId}: $*" >&2; exit 1; }`,
        `systemctl is-active --quiet haproxy || die "haproxy is not running here (systemctl status haproxy; journalctl -u haproxy)"`,
        // Switches and canaries change the live backend one at a time.
        "exec 9>/run/holodeck-balancer.lock",
        "flock 9",
        `live=$(awk '$1 == "live" { print $2 }' ${liveMapPath})`,
        `if [ "$live" = ${noReleaseBackend} ]; then`,
        `  echo "balancer: no release is live yet: the canary of release ${args.releaseId} has none to stand beside, and its gates were its trial"`,
        "  exit 0",
        "fi",
        `if [ "$live" = ${backend} ]; then`,
        `  echo "balancer: release ${args.releaseId} is live already: no canary"`,
        "  exit 0",
        "fi",
        "",
        "# Out of rotation at once (requests it serves finish), then deleted once it has no connection left.",
        "withdraw() {",
        '  local answer deadline=$((SECONDS + 30))',
        '  answer=$(haproxy_cli ' + adminSocketPath + ' "set server $live/$1 state maint")',
        '  if [[ $answer == *"No such server"* ]]; then return 0; fi',
        '  until answer=$(haproxy_cli ' + adminSocketPath + ' "del server $live/$1") && [[ $answer == *"Server deleted."* ]]; do',
        '    if ((SECONDS >= deadline)); then echo "balancer: $1 stays in maintenance, not deleted (${answer//$\'\\n\'/ }); the next reload drops it" >&2; return 0; fi',
        "    sleep 0.5",
        "  done",
        "}",
        `for stale in $(server_stats "$live" | awk -F'\\t' '$1 ~ /\\.canary[0-9]+$/ { print $1 }'); do`,
        '  withdraw "$stale"',
        '  echo "balancer: withdrew $stale, left by an earlier canary"',
        "done",
        "",
        `names=(${names.map(shellQuote).join(" ")})`,
        `addresses=(${args.servers.map((server) => shellQuote(`${server}:${args.port}`)).join(" ")})`,
        `trap 'for name in "\${names[@]}"; do withdraw "$name"; done' EXIT`,
        'for i in "${!names[@]}"; do',
        `  answer=$(haproxy_cli ${adminSocketPath} "add server $live/\${names[$i]} \${addresses[$i]} ${serverChecks}")`,
        '  [[ $answer == *"New server registered."* ]] || die "haproxy refused to add ${names[$i]} (${addresses[$i]}) to $live: $answer"',
        `  haproxy_cli ${adminSocketPath} "enable health $live/\${names[$i]}" >/dev/null`,
        "done",
        "",
        "# Ours in the live backend: a line for each that fails test $1 (checked, serving), or with $1 requests how many they served.",
        "canaries() {",
        '  server_stats "$live" | awk -F\'\\t\' -v names="${names[*]}" -v test="$1" \'',
        '    BEGIN { count = split(names, list, " "); for (i = 1; i <= count; i++) ours[list[i]] = 1 }',
        "    $1 in ours {",
        "      seen[$1] = 1",
        '      if (test == "checked" && $4 != "L7OK") printf "canary server %s (%s) has not passed a check: last check %s %s %s\\n", $1, $2, $4, $5, $6',
        '      if (test == "serving" && ($3 !~ /^UP/ || $8 > 0 || $9 > 0))',
        '        printf "canary server %s (%s) is %s after %d requests: %d answered 5xx, %d failed responses; last check %s %s %s\\n", $1, $2, $3, $7, $8, $9, $4, $5, $6',
        '      if (test == "requests") requests += $7',
        "    }",
        '    END {',
        '      if (test != "requests") for (name in ours) if (!(name in seen)) printf "canary server %s is gone from the live backend (haproxy reloaded?)\\n", name',
        '      if (test == "requests") print requests + 0',
        "    }'",
        "}",
        `deadline=$((SECONDS + ${timeout}))`,
        'until problems=$(canaries checked) && [ -z "$problems" ]; do',
        `  ((SECONDS < deadline)) || die "its servers did not pass a health check (GET /health) within ${timeout} s, and none served:"$'\\n'"$problems"`,
        "  sleep 0.2",
        "done",
        'for name in "${names[@]}"; do',
        `  haproxy_cli ${adminSocketPath} "enable server $live/$name" >/dev/null`,
        "done",
        `echo "balancer: the canary of release ${args.releaseId} (${names.length} server${names.length === 1 ? "" : "s"}) serves beside $live for ${args.soakSeconds} s"`,
        "",
        `end=$((SECONDS + ${args.soakSeconds}))`,
        "while :; do",
        '  problems=$(canaries serving)',
        `  [ -z "$problems" ] || die "failed beside $live, and is withdrawn: the rollout stops here:"$'\\n'"$problems"`,
        "  ((SECONDS < end)) || break",
        // Every poll's delay is a failing canary's share of requests that fail meanwhile.
        "  sleep 0.2",
        "done",
        "requests=$(canaries requests)",
        'if [ "$requests" -eq 0 ]; then',
        `  echo "balancer: the canary of release ${args.releaseId} passed, but no request reached it in ${args.soakSeconds} s: its gates and health checks were its whole trial; withdrawn, the rest of the release follows"`,
        "else",
        `  echo "balancer: the canary of release ${args.releaseId} passed: $requests requests in ${args.soakSeconds} s, none failed; withdrawn, the rest of the release follows"`,
        "fi",
    ].join("\n");
}

/** A bash script, run as root on the balancer, that prints the live release's id, or nothing. */
export function balancerLiveScript(): string {
    return [
        "set -euo pipefail",
        ...socketClient,
        `haproxy_cli ${adminSocketPath} ${shellQuote(`show map ${liveMapPath}`)} | awk '$2 == "live" && $3 ~ /^release-/ { sub(/^release-/, "", $3); print $3 }'`,
    ].join("\n");
}
