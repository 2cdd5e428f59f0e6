/**
 * A small, strict XML reader for what `virsh dumpxml` prints (lib/import/guests.ts). No XML
 * library is among the project's dependencies, and the provider reads its own domain XML with
 * patterns (provider/resources/guest-check.ts), which is enough there because it only reads
 * what it wrote. The import reads definitions written by hand over years, so it needs a real
 * tree: this is the subset of XML 1.0 libvirt emits — elements, attributes in ' or ", text,
 * comments, the XML declaration, CDATA, the five predefined entities and character
 * references — and it refuses the rest (DOCTYPE, other entities, processing instructions,
 * mismatched or unclosed tags) with the line, rather than guess. libvirt itself refuses a
 * DOCTYPE in a domain, so nothing virsh prints is refused.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (children's text not included), trimmed. */
  text: string;
  /** 1-based line of the start tag. */
  line: number;
}

export class XmlError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*/;
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' };

function decode(s: string, line: number): string {
  return s.replace(/&([^;&<]*);?/g, (m, e: string) => {
    if (!m.endsWith(";")) throw new XmlError(`line ${line}: "&" not starting an entity (write &amp;)`);
    if (e in ENTITIES) return ENTITIES[e] as string;
    const num = /^#x([0-9a-fA-F]{1,6})$/.exec(e) ?? /^#([0-9]{1,7})$/.exec(e);
    if (num) {
      const cp = parseInt(num[1] as string, e.startsWith("#x") ? 16 : 10);
      if (cp > 0x10ffff || cp === 0) throw new XmlError(`line ${line}: character reference &${e}; is out of range`);
      return String.fromCodePoint(cp);
    }
    throw new XmlError(`line ${line}: entity &${e}; is not one of XML's five (an external or DOCTYPE entity is refused)`);
  });
}

/** Parses `xml` into its root element. Throws XmlError naming the line on anything outside the subset. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  let line = 1;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const advance = (to: number) => {
    for (let k = i; k < to; k++) if (xml.charCodeAt(k) === 10) line++;
    i = to;
  };
  const texts = new Map<XmlElement, string[]>();
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) texts.get(top)?.push(decode(raw, line));
      else if (raw.trim()) throw new XmlError(`line ${line}: text outside the root element`);
      advance(textEnd);
      continue;
    }
    if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i + 4);
      if (end < 0) throw new XmlError(`line ${line}: unclosed comment`);
      advance(end + 3);
    } else if (xml.startsWith("<![CDATA[", i)) {
      const end = xml.indexOf("]]>", i);
      const top = stack[stack.length - 1];
      if (end < 0 || !top) throw new XmlError(`line ${line}: CDATA section unclosed or outside an element`);
      texts.get(top)?.push(xml.slice(i + 9, end));
      advance(end + 3);
    } else if (xml.startsWith("<?xml ", i) && i === xml.search(/\S/) && !root) {
      const end = xml.indexOf("?>", i);
      if (end < 0) throw new XmlError(`line ${line}: unclosed XML declaration`);
      advance(end + 2);
    } else if (xml.startsWith("<!", i) || xml.startsWith("<?", i)) {
      throw new XmlError(`line ${line}: ${xml.startsWith("<!DOCTYPE", i) ? "DOCTYPE" : "processing instruction or declaration"} refused (virsh dumpxml prints none)`);
    } else if (xml.startsWith("</", i)) {
      const m = /^<\/([A-Za-z_][A-Za-z0-9_.:-]*)\s*>/.exec(xml.slice(i, i + 200));
      const top = stack.pop();
      if (!m || !top || m[1] !== top.name) throw new XmlError(`line ${line}: end tag ${m ? `</${m[1]}>` : "malformed"} does not close ${top ? `<${top.name}> of line ${top.line}` : "any element"}`);
      top.text = (texts.get(top) ?? []).join("").trim();
      advance(i + m[0].length);
    } else {
      const start = line;
      let j = i + 1;
      const nm = NAME.exec(xml.slice(j, j + 200));
      if (!nm) throw new XmlError(`line ${line}: "<" not starting a tag (write &lt;)`);
      const el: XmlElement = { name: nm[0], attrs: {}, children: [], text: "", line: start };
      j += nm[0].length;
      for (;;) {
        const ws = /^\s*/.exec(xml.slice(j, j + 10_000))?.[0].length ?? 0;
        j += ws;
        if (xml.startsWith("/>", j) || xml.startsWith(">", j)) break;
        const a = /^([A-Za-z_][A-Za-z0-9_.:-]*)\s*=\s*(['"])/.exec(xml.slice(j, j + 300));
        if (!a || ws === 0) throw new XmlError(`line ${start}: malformed attribute in <${el.name}>`);
        const q = a[2] as string;
        const vStart = j + a[0].length;
        const vEnd = xml.indexOf(q, vStart);
        if (vEnd < 0) throw new XmlError(`line ${start}: unclosed attribute value in <${el.name}>`);
        const raw = xml.slice(vStart, vEnd);
        if (raw.includes("<")) throw new XmlError(`line ${start}: "<" inside an attribute of <${el.name}>`);
        const key = a[1] as string;
        if (key in el.attrs) throw new XmlError(`line ${start}: attribute ${key} twice in <${el.name}>`);
        // XML normalises whitespace characters in attribute values to spaces (escaped ones stay).
        el.attrs[key] = decode(raw.replace(/[\t\n\r]/g, " "), start);
        j = vEnd + 1;
      }
      const selfClosing = xml.startsWith("/>", j);
      advance(j + (selfClosing ? 2 : 1));
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) throw new XmlError(`line ${start}: a second root element <${el.name}>`);
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        texts.set(el, []);
      }
    }
  }
  const open = stack[stack.length - 1];
  if (open) throw new XmlError(`line ${open.line}: <${open.name}> is never closed`);
  if (!root) throw new XmlError("no element at all");
  return root;
}

/** The children of `el` named `name`. */
export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

/** The first child named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}
