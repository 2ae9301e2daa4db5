// Quoting for the shell scripts the program runs on its servers over SSH.

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `command` fed `content` by a quoted heredoc (no expansion inside) ending at `delimiter`, as
 * lines of a script. Refuses content that holds the delimiter line (`what` names it), which
 * would end the heredoc early and run the rest as commands.
 */
export function heredoc(command: string, content: string, delimiter: string, what: string): string {
    if (content.split("\n").includes(delimiter)) throw new Error(`${what} contains the line ${delimiter}`);
    return [`${command} <<'${delimiter}'`, content.endsWith("\n") ? content.slice(0, -1) : content, delimiter].join("\n");
}
