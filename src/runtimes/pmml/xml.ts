/**
 * A plain element tree for PMML documents, read once at load time with fast-xml-parser
 * (order-preserving mode, namespace prefixes removed). Compilers walk this tree; scoring never does.
 */
import { XMLParser } from 'fast-xml-parser';

export interface XmlElement {
  /** Local name, without namespace prefix. */
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Child elements in document order (text and comments excluded). */
  readonly children: readonly XmlElement[];
  /** The element's own text content, concatenated (not trimmed). */
  readonly text: string;
}

type Node = Record<string, unknown>;

const options = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  removeNSPrefix: true,
  processEntities: true,
  htmlEntities: false,
  commentPropName: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

/** Made on first use: code that only reads element trees (an exported package) then carries no XML parser. */
let parser: XMLParser | undefined;

/** Parse a document and return its root element. Throws (a plain Error) on malformed XML; callers map it to a catalog code. */
export function parseXml(text: string): XmlElement {
  parser ??= new XMLParser(options);
  const nodes = parser.parse(text) as Node[];
  const roots = nodes.map(toElement).filter((e): e is XmlElement => e !== undefined);
  const root = roots[0];
  if (!root) throw new SyntaxError('the document has no root element');
  return root;
}

function toElement(node: Node): XmlElement | undefined {
  for (const key of Object.keys(node)) {
    if (key === ':@' || key === '#text') continue;
    const rawChildren = (node[key] ?? []) as Node[];
    const attrs = (node[':@'] ?? {}) as Record<string, string>;
    const children: XmlElement[] = [];
    let text = '';
    for (const child of rawChildren) {
      if ('#text' in child) text += String(child['#text']);
      else {
        const el = toElement(child);
        if (el) children.push(el);
      }
    }
    return { name: key, attrs, children, text };
  }
  return undefined;
}

/** The first child element with this name, if any. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every child element with this name, in order. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** An attribute's text, or undefined. */
export function attr(el: XmlElement, name: string): string | undefined {
  return el.attrs[name];
}

/** An element tree as compact JSON values: `[name, attrs, children, text?]`. */
export type PackedElement = [string, Record<string, string>, PackedElement[], string?];

/**
 * The tree in a compact form for exports, which ship it instead of the XML. Whitespace between
 * child elements is left out; the text of an element without children is kept exactly.
 */
export function packTree(el: XmlElement): PackedElement {
  const keepText = el.children.length === 0 ? el.text !== '' : el.text.trim() !== '';
  const packed: PackedElement = [el.name, { ...el.attrs }, el.children.map(packTree)];
  if (keepText) packed.push(el.text);
  return packed;
}

/** The element tree back from `packTree`'s form. */
export function unpackTree(p: PackedElement): XmlElement {
  return { name: p[0], attrs: p[1], children: p[2].map(unpackTree), text: p[3] ?? '' };
}
