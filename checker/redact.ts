// Credentials that ride in URLs (https://user:token@host/..., ?sig=...) kept out of messages:
// every error that may quote a URL given by a user goes through here before it is printed.
// In checker/ because the bundled holodeck-check may import only its own modules; config.ts uses it too.

/** What stands where a credential was. */
export const redacted = "[redacted]";

/**
 * `text` with the userinfo of every URL in it replaced (all of it for http(s) and other schemes;
 * for ssh only a password, since `ssh://git@host` names a user, not a secret) and the values of
 * query parameters that carry credentials (sig, signature, token, password, secret, key...).
 */
export function redactCredentials(text: string): string {
    return text
        // Userinfo ends at the last "@" before the path; a password with a raw "/" or "@" ends it at the last "@".
        .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*@|[^\s/?#@:]*:[^\s@]*@)/gi, (whole, scheme: string, userinfo: string) => {
            const bare = userinfo.slice(0, -1);
            if (/^(ssh|git\+ssh):\/\/$/i.test(scheme) && !bare.includes(":")) return whole;
            return `${scheme}${redacted}@`;
        })
        .replace(/([?&;][^=&\s#]*(?:sig|signature|token|passw(?:or)?d|secret|key|credential|auth)[^=&\s#]*=)[^&\s#'"]*/gi, `$1${redacted}`);
}

/**
 * One value the user gave as a URL, safe to quote: as {@link redactCredentials}, and when it has
 * an "@" after "://" that pattern missed (a password with spaces), everything up to the last "@".
 */
export function redactUrl(value: string): string {
    const text = redactCredentials(value);
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0];
    if (!scheme || !text.slice(scheme.length).includes("@") || text.slice(scheme.length).startsWith(`${redacted}@`)) return text;
    if (/^(ssh|git\+ssh):\/\/[^\s:@/]+@[^@]*$/i.test(text)) return text;
    return `${scheme}${redacted}@${text.slice(text.lastIndexOf("@") + 1)}`;
}

/** Whether a URL carries credentials (userinfo beyond an ssh user name). */
export function hasCredentials(value: string): boolean {
    return redactUrl(value).includes(`${redacted}@`);
}
