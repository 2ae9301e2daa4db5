// A loopback OpenStack for the real OpenStack provider (terraform-provider-openstack through
// gophercloud): Keystone v3 password auth (a token and a catalog) and the Neutron reads its data
// sources make. It records every request; anything else it answers 404 and lists as unexpected.
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeSubnet {
    readonly id: string;
    readonly cidr: string;
}

export interface FakeNetwork {
    readonly id: string;
    readonly name: string;
    readonly external?: boolean;
    readonly subnets?: readonly FakeSubnet[];
}

export interface FakeOpenStackOptions {
    /** The region the catalog's endpoints are in. */
    readonly region: string;
    /** The only credentials Keystone accepts (any other password gets 401). */
    readonly userName: string;
    readonly password: string;
    readonly userDomainName: string;
    readonly projectName: string;
    readonly projectDomainName: string;
    /** What Neutron holds. */
    readonly networks: readonly FakeNetwork[];
}

export interface ReceivedRequest {
    readonly method: string;
    /** Path without the query string. */
    readonly path: string;
    readonly query: Readonly<Record<string, string[]>>;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

const identityPath = "/identity";
const networkPath = "/network";
const projectId = "8d1b5f0c2e4a4b6c9d8e7f6a5b4c3d2e";
const userId = "3c5e7a9b1d2f4e6a8b0c2d4e6f8a0b1c";

// The list filters the provider's data sources send (getNetwork, getSubnetIdsV2, getSubnet: all
// lists, even getSubnet by ID), applied as Neutron does.
const networkFilters: Record<string, (network: FakeNetwork, value: string) => boolean> = {
    name: (network, value) => network.name === value,
    "router:external": (network, value) => String(network.external ?? false) === value,
};
const subnetFilters: Record<string, (subnet: FakeSubnet & { networkId: string }, value: string) => boolean> = {
    id: (subnet, value) => subnet.id === value,
    network_id: (subnet, value) => subnet.networkId === value,
};

export class FakeOpenStack {
    /** Every request received, in order. */
    readonly requests: ReceivedRequest[] = [];
    /** Requests it has no answer for (a path, method or filter it does not know). */
    readonly unexpected: ReceivedRequest[] = [];
    /** The token Keystone issues. */
    readonly token = `gAAAAA-fake-${randomBytes(12).toString("hex")}`;

    private constructor(private readonly options: FakeOpenStackOptions, private readonly server: http.Server, private readonly base: string) {}

    static async start(options: FakeOpenStackOptions): Promise<FakeOpenStack> {
        const server = http.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const fake = new FakeOpenStack(options, server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
        server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => fake.receive(request, response));
        return fake;
    }

    /** Keystone's v3 URL: openstack:authUrl. */
    get authUrl(): string {
        return `${this.base}${identityPath}/v3`;
    }

    /** The requests to Keystone's token API. */
    get tokenRequests(): ReceivedRequest[] {
        return this.requests.filter((request) => request.path === `${identityPath}/v3/auth/tokens`);
    }

    /** The requests to Neutron. */
    get neutronRequests(): ReceivedRequest[] {
        return this.requests.filter((request) => request.path.startsWith(`${networkPath}/`));
    }

    close(): Promise<void> {
        return new Promise((resolve) => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }

    private receive(request: http.IncomingMessage, response: http.ServerResponse): void {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            const url = new URL(request.url ?? "/", this.base);
            const query: Record<string, string[]> = {};
            for (const [key, value] of url.searchParams) (query[key] ??= []).push(value);
            const received: ReceivedRequest = { method: request.method ?? "", path: url.pathname, query, headers: request.headers, body: Buffer.concat(chunks).toString("utf8") };
            this.requests.push(received);
            const answer = this.answer(received);
            if (!answer) this.unexpected.push(received);
            const [status, body, headers] = answer ?? [404, { NeutronError: { type: "HTTPNotFound", message: `the fake has no answer for ${received.method} ${request.url}` } }, {}];
            response.writeHead(status, { "Content-Type": "application/json", ...headers });
            response.end(JSON.stringify(body));
        });
    }

    private answer(request: ReceivedRequest): [number, unknown, Record<string, string>?] | undefined {
        if (request.method === "POST" && request.path === `${identityPath}/v3/auth/tokens`) return this.issueToken(request.body);
        if (request.method !== "GET" || !request.path.startsWith(`${networkPath}/v2.0/`)) return undefined;
        if (request.headers["x-auth-token"] !== this.token) {
            return [401, { error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } }];
        }
        const resource = request.path.slice(`${networkPath}/v2.0/`.length).replace(/\/$/, "");
        const subnets = this.options.networks.flatMap((network) => (network.subnets ?? []).map((subnet) => ({ ...subnet, networkId: network.id })));
        if (resource === "networks") {
            const found = filtered(this.options.networks, request.query, networkFilters);
            return found && [200, { networks: found.map(neutronNetwork) }];
        }
        if (resource === "subnets") {
            const found = filtered(subnets, request.query, subnetFilters);
            return found && [200, { subnets: found.map(neutronSubnet) }];
        }
        return undefined;
    }

    /** Keystone v3 password auth, scoped to the project by name. */
    private issueToken(body: string): [number, unknown, Record<string, string>?] {
        const { userName, password, userDomainName, projectName, projectDomainName, region } = this.options;
        let auth: { identity?: { methods?: string[]; password?: { user?: { name?: string; password?: string; domain?: { name?: string } } } }; scope?: { project?: { name?: string; domain?: { name?: string } } } };
        try {
            auth = (JSON.parse(body) as { auth: typeof auth }).auth ?? {};
        } catch {
            return [400, { error: { code: 400, title: "Bad Request", message: "the request body is not JSON" } }];
        }
        const user = auth.identity?.password?.user;
        const project = auth.scope?.project;
        const accepted = auth.identity?.methods?.includes("password") && user?.name === userName && user.password === password && user.domain?.name === userDomainName
            && project?.name === projectName && project.domain?.name === projectDomainName;
        if (!accepted) return [401, { error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } }];
        const endpoint = (service: string, url: string) => ({
            id: `${service}-public`, interface: "public", region, region_id: region, url,
        });
        const now = new Date();
        return [201, {
            token: {
                methods: ["password"],
                user: { id: userId, name: userName, domain: { id: "default", name: userDomainName }, password_expires_at: null },
                project: { id: projectId, name: projectName, domain: { id: "default", name: projectDomainName } },
                roles: [{ id: "member-role", name: "member" }],
                issued_at: now.toISOString(),
                expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
                catalog: [
                    { id: "keystone", type: "identity", name: "keystone", endpoints: [endpoint("identity", `${this.base}${identityPath}`)] },
                    { id: "neutron", type: "network", name: "neutron", endpoints: [endpoint("network", `${this.base}${networkPath}`)] },
                ],
            },
        }, { "X-Subject-Token": this.token }];
    }
}

function neutronNetwork(network: FakeNetwork): Record<string, unknown> {
    return {
        id: network.id, name: network.name, description: "", status: "ACTIVE", admin_state_up: true, shared: false,
        "router:external": network.external ?? false, subnets: (network.subnets ?? []).map((subnet) => subnet.id),
        tenant_id: projectId, project_id: projectId, mtu: 1500, availability_zone_hints: [], tags: [],
    };
}

function neutronSubnet(subnet: FakeSubnet & { networkId: string }): Record<string, unknown> {
    return {
        id: subnet.id, name: "", description: "", network_id: subnet.networkId, cidr: subnet.cidr, ip_version: 4, gateway_ip: null,
        enable_dhcp: true, allocation_pools: [], dns_nameservers: [], host_routes: [], service_types: [], tags: [],
        tenant_id: projectId, project_id: projectId,
    };
}

/** Items matching every filter in `query`; undefined if it has a filter the fake does not know. */
function filtered<T>(items: readonly T[], query: Readonly<Record<string, string[]>>, filters: Record<string, (item: T, value: string) => boolean>): T[] | undefined {
    if (Object.keys(query).some((key) => !(key in filters))) return undefined;
    return items.filter((item) => Object.entries(query).every(([key, values]) => values.every((value) => filters[key](item, value))));
}
