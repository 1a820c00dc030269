/** Minimal multipart/form-data parser for the upload v2 route. */

export interface MultipartFile {
  field: string;
  filename: string;
  contentType?: string;
  size: number;
  data: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: MultipartFile[];
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2])!.trim() : undefined;
}

function parseDisposition(value: string): { name?: string; filename?: string } {
  const out: { name?: string; filename?: string } = {};
  const re = /;\s*(name|filename)="((?:[^"\\]|\\.)*)"/gi;
  for (const m of value.matchAll(re)) {
    const v = m[2]!.replace(/\\(.)/g, "$1");
    if (m[1]!.toLowerCase() === "name") out.name = v;
    else out.filename = v;
  }
  return out;
}

/** Throws on malformed bodies. */
export function parseMultipart(body: Buffer, boundary: string): MultipartBody {
  const delim = Buffer.from(`--${boundary}`);
  const out: MultipartBody = { fields: {}, files: [] };
  let pos = body.indexOf(delim);
  if (pos < 0) throw new Error("boundary not found");
  while (true) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === "--") break;
    if (body.subarray(pos, pos + 2).toString() !== "\r\n") throw new Error("malformed boundary line");
    pos += 2;
    const headEnd = body.indexOf("\r\n\r\n", pos);
    if (headEnd < 0) throw new Error("part headers not terminated");
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos, headEnd).toString("utf8").split("\r\n")) {
      const c = line.indexOf(":");
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), headEnd + 4);
    if (next < 0) throw new Error("closing boundary missing");
    const data = body.subarray(headEnd + 4, next);
    const disp = parseDisposition(headers["content-disposition"] ?? "");
    if (!disp.name) throw new Error("part without a name");
    if (disp.filename !== undefined) {
      out.files.push({ field: disp.name, filename: disp.filename, contentType: headers["content-type"], size: data.length, data: Buffer.from(data) });
    } else {
      out.fields[disp.name] = data.toString("utf8");
    }
    pos = next + 2;
  }
  return out;
}
