/** An IP address as it goes before `:port` or in a URL's host: IPv6 in brackets. */
export const bracket = (a: string): string => (a.includes(":") ? `[${a}]` : a);
