// IPv4 CIDRs, parsed: the stack configuration (config.ts) and the policy pack read them with this
// one parser. Only the canonical form is accepted, so what is checked is what Neutron stores:
// Neutron normalises what it is given (0.0.0.0/00 becomes 0.0.0.0/0, the whole internet), and some
// parsers read octets with leading zeros as octal. Kept here, without imports, so the policy pack
// stays self-contained for `pulumi policy publish`.

/** A CIDR in canonical form. */
export interface Ipv4Cidr {
    /** The network address, dotted quad. */
    readonly address: string;
    /** Prefix length, 0 to 32. */
    readonly prefixLength: number;
}

/** A parsed CIDR, or why `text` is not one (a phrase to follow the value: "'x' <problem>"). */
export type CidrParse = { readonly cidr: Ipv4Cidr; readonly problem?: undefined } | { readonly cidr?: undefined; readonly problem: string };

const example = "e.g. 203.0.113.0/24";

/** Parses `text` as an IPv4 CIDR in canonical form (no spaces, no leading zeros, no host bits). */
export function parseIpv4Cidr(text: string): CidrParse {
    if (text.includes(":")) {
        return {
            problem: "is an IPv6 CIDR, and Holodeck's networks are IPv4 only: the subnet it creates, the floating IPs SSH and the "
                + "checks go through, and the servers' addresses are all IPv4, so an IPv6 rule would never match. Give an IPv4 CIDR, " + example,
        };
    }
    const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text);
    if (!match) return { problem: `is not a CIDR: write ADDRESS/PREFIX, ${example} (a single address is ADDRESS/32)` };
    const octets = match.slice(1, 5);
    const prefix = match[5];
    if (octets.some((octet) => Number(octet) > 255)) return { problem: `is not a CIDR: each of the four numbers is 0 to 255, ${example}` };
    if (octets.some((octet) => /^0\d/.test(octet))) {
        return { problem: "has an octet with a leading zero, which some tools read as octal: write each number without leading zeros" };
    }
    const prefixLength = Number(prefix);
    if (prefixLength > 32) return { problem: `is not a CIDR: the prefix length is 0 to 32, ${example}` };
    const value = octets.reduce((sum, octet) => sum * 256 + Number(octet), 0);
    const size = 2 ** (32 - prefixLength);
    const address = [24, 16, 8, 0].map((shift) => Math.floor((value - (value % size)) / 2 ** shift) % 256).join(".");
    const canonical = `${address}/${prefixLength}`;
    if (/^0\d/.test(prefix)) return { problem: `has a prefix length with a leading zero: write it ${canonical}` };
    if (value % size !== 0) return { problem: `has host bits set: use ${canonical}` };
    return { cidr: { address, prefixLength } };
}

/** Below this prefix length a CIDR is a good part of the internet (a /7 is 33 million addresses). */
export const broadestPrivatePrefix = 8;

/** The number of addresses a prefix length covers, as people read it ("16 million"). */
export function addressCount(prefixLength: number): string {
    const count = 2 ** (32 - prefixLength);
    if (count >= 1e9) return `${Math.round(count / 1e9 * 10) / 10} billion`;
    if (count >= 1e6) return `${Math.round(count / 1e6)} million`;
    return String(count);
}
