import { describe, expect, it } from "vitest";
import { boundaryOf, parseMultipart } from "../../src/server/api/multipart.js";
import { aspectRatioFor } from "../../src/server/media/image-params.js";

const LIMITS = { maxFileBytes: 100, maxFiles: 2, maxFieldBytes: 20, maxParts: 5 };
const tooLarge = (what: string, limit: number, param: string) => Object.assign(new Error(`${what} over ${limit}`), { param });
const body = (...parts: string[]) => Buffer.from(parts.join(""), "latin1");

describe("multipart parser", () => {
  it("reads fields and files, repeated names in order, quoted and RFC 5987 file names", () => {
    const b = body(
      "preamble\r\n--XyZ\r\n",
      'Content-Disposition: form-data; name="prompt"\r\n\r\nmake it "blue"\r\n--XyZ\r\n',
      'Content-Disposition: form-data; name="image[]"; filename="a \\"q\\".png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--not-the-boundary\r\n--XyZ\r\n',
      "Content-Disposition: form-data; name=\"image[]\"; filename*=UTF-8''%E7%8C%AB.jpg\r\n\r\n\xff\xd8\xff\r\n--XyZ--\r\nepilogue",
    );
    const mp = parseMultipart(b, "XyZ", LIMITS, tooLarge);
    expect(mp.fields.get("prompt")).toEqual(['make it "blue"']);
    expect(mp.files.map((f) => [f.field, f.filename, f.type])).toEqual([
      ["image[]", 'a "q".png', "image/png"],
      ["image[]", "猫.jpg", ""],
    ]);
    expect(mp.files[0]!.data.toString("latin1")).toBe("\x89PNG\r\n--not-the-boundary");
    expect(mp.files[1]!.data.toString("latin1")).toBe("\xff\xd8\xff");
  });

  it("enforces counts and sizes, and refuses malformed bodies", () => {
    const file = (n: number) => `--B\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n\r\n${"x".repeat(n)}\r\n`;
    expect(() => parseMultipart(body(file(101), "--B--"), "B", LIMITS, tooLarge)).toThrow(/over 100/);
    expect(() => parseMultipart(body(file(1), file(1), file(1), "--B--"), "B", LIMITS, tooLarge)).toThrow(/Too many files/);
    expect(() => parseMultipart(body('--B\r\nContent-Disposition: form-data; name="p"\r\n\r\n', "y".repeat(21), "\r\n--B--"), "B", LIMITS, tooLarge)).toThrow(/Field 'p'/);
    const many = Array.from({ length: 6 }, (_, i) => `--B\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`).join("");
    expect(() => parseMultipart(body(many, "--B--"), "B", LIMITS, tooLarge)).toThrow(/Too many multipart parts/);
    expect(() => parseMultipart(body(file(1)), "B", LIMITS, tooLarge)).toThrow(/missing closing boundary/);
    expect(() => parseMultipart(body("no delimiter here"), "B", LIMITS, tooLarge)).toThrow(/no boundary/);
    expect(() => parseMultipart(body("--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--"), "B", LIMITS, tooLarge)).toThrow(/Content-Disposition/);
  });

  it("boundary parameter, quoted or not", () => {
    expect(boundaryOf('multipart/form-data; boundary="a b:c"')).toBe("a b:c");
    expect(boundaryOf("multipart/form-data; charset=utf-8; boundary=----WebKit123")).toBe("----WebKit123");
    expect(boundaryOf("multipart/form-data")).toBeNull();
  });
});

describe("size → Imagine aspect ratio", () => {
  it("maps the documented sizes and the nearest ratio for others", () => {
    expect(aspectRatioFor("1024x1024", undefined)).toBe("1:1");
    expect(aspectRatioFor("1792x1024", undefined)).toBe("3:2");
    expect(aspectRatioFor("1024x1792", undefined)).toBe("2:3");
    expect(aspectRatioFor("1280x720", undefined)).toBe("16:9");
    expect(aspectRatioFor("720x1280", undefined)).toBe("9:16");
    expect(aspectRatioFor("2000x1000", undefined)).toBe("2:1");
    expect(aspectRatioFor(undefined, undefined)).toBe("auto");
    expect(aspectRatioFor("1024x1024", "9:19.5")).toBe("9:19.5");
    expect(() => aspectRatioFor("huge", undefined)).toThrow(/size/);
    expect(() => aspectRatioFor("10x10", undefined)).toThrow(/between/);
    expect(() => aspectRatioFor(undefined, "5:4")).toThrow(/aspect_ratio/);
  });
});
