/**
 * The language of what a volunteer reads. English stays the language of logs and of the code;
 * French is chosen with GLOBENET_LANG=fr, or by the locale (LC_ALL, LC_MESSAGES, LANG) when
 * GLOBENET_LANG is unset. Anything else means English.
 */
export type Lang = "en" | "fr";

/** A message a volunteer reads, written in both languages at the place it is made. */
export interface Bilingual {
  en: string;
  fr: string;
}

export function volunteerLang(env: NodeJS.ProcessEnv = process.env): Lang {
  const explicit = env.GLOBENET_LANG?.trim().toLowerCase();
  if (explicit) return explicit.startsWith("fr") ? "fr" : "en";
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return /^fr([_.@-]|$)/i.test(locale) ? "fr" : "en";
}

/** The text in the volunteer's language; a plain string is English-only and shown as is. */
export function say(text: string | Bilingual, lang: Lang = volunteerLang()): string {
  return typeof text === "string" ? text : text[lang];
}
