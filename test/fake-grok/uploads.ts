/** Uploads (§6): JSON upload-file, legacy /api/rpc uploadFile, multipart upload v2 and its status poll. */
import type { HttpCtx } from "./core.js";
import type { AccountRecord, UploadRecord } from "./state.js";
import type { MultipartBody } from "./multipart.js";
import { rejectHttp, sendJson } from "./core.js";
import { failures } from "./errors.js";
import { sniffImage } from "./media-bytes.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import { decodeBase64, isPlainObject, uuid } from "./util.js";

export const IMAGINE_FILE_SOURCE = "IMAGINE_SELF_UPLOAD_FILE_SOURCE";
const MIN_IMAGE_SIDE = 8;

function store(ctx: HttpCtx, acc: AccountRecord, fileName: string, mime: string, bytes: Buffer, source?: string): UploadRecord {
  const id = uuid();
  const rec: UploadRecord = {
    fileMetadataId: id,
    uploadId: `upl_${uuid()}`,
    owner: acc.sso,
    userId: acc.userId,
    fileName,
    mime,
    fileUri: `users/${acc.userId}/${id}/content`,
    source,
  };
  ctx.core.state.uploads.set(id, rec);
  ctx.core.state.putAsset({ path: rec.fileUri, ownerUserId: acc.userId, contentType: mime, bytes });
  return rec;
}

/** Rejects images grok refuses ("Image dimensions are insufficient") and declared types that lie. */
function imageProblem(mime: string, bytes: Buffer): string | undefined {
  if (!mime.startsWith("image/")) return undefined;
  const info = sniffImage(bytes);
  if (!info) return "File content is not a supported image";
  if (info.mime !== mime.toLowerCase()) return `Declared type ${mime} does not match content ${info.mime}`;
  if (info.width < MIN_IMAGE_SIDE || info.height < MIN_IMAGE_SIDE) return "Image dimensions are insufficient";
  return undefined;
}

function legacyUpload(ctx: HttpCtx, req: unknown): void {
  if (!isPlainObject(req)) return rejectHttp(ctx, failures.invalid("body must be a JSON object"), "upload body not an object");
  const { fileName, fileMimeType, content } = req;
  if (typeof fileName !== "string" || !fileName) return rejectHttp(ctx, failures.invalid("fileName is required"), "upload without fileName");
  if (typeof fileMimeType !== "string" || !fileMimeType) return rejectHttp(ctx, failures.invalid("fileMimeType must be a string"), "upload without fileMimeType");
  if (typeof content !== "string") return rejectHttp(ctx, failures.invalid("content must be base64"), "upload content not a string");
  const bytes = decodeBase64(content);
  if (!bytes || bytes.length === 0) return rejectHttp(ctx, failures.invalid("content must be base64"), "upload content is not base64 (a data: prefix?)");
  const problem = imageProblem(fileMimeType, bytes);
  if (problem) return rejectHttp(ctx, failures.invalid(problem), problem);
  const rec = store(ctx, ctx.account!, fileName, fileMimeType, bytes);
  sendJson(ctx, 200, { fileMetadataId: rec.fileMetadataId, fileUri: rec.fileUri, fileName: rec.fileName, fileMimeType: rec.mime });
}

/** POST /rest/app-chat/upload-file {fileName,fileMimeType,content}. */
export function handleUploadJson(ctx: HttpCtx): void {
  legacyUpload(ctx, ctx.body);
}

/** POST /api/rpc {"rpc":"uploadFile","req":{…}} (≤ Mar 2025). */
export function handleRpc(ctx: HttpCtx): void {
  const b = ctx.body;
  if (!isPlainObject(b) || b.rpc !== "uploadFile") return rejectHttp(ctx, failures.invalid("unknown rpc"), "rpc other than uploadFile");
  legacyUpload(ctx, b.req);
}

function fileMetadata(u: UploadRecord) {
  return { fileMetadataId: u.fileMetadataId, fileId: u.fileMetadataId, fileUri: u.fileUri };
}

/** POST /http/upload-file-v2/direct (multipart: part `file`, optional `file_source`). */
export function handleUploadV2(ctx: HttpCtx): void {
  const boundary = boundaryOf(ctx.headers["content-type"]);
  if (!boundary) return rejectHttp(ctx, failures.invalid("expected multipart/form-data"), `upload v2 content-type ${ctx.headers["content-type"]}`);
  let mp: MultipartBody;
  try {
    mp = parseMultipart(ctx.raw, boundary);
  } catch (e) {
    return rejectHttp(ctx, failures.invalid("malformed multipart body"), `multipart: ${(e as Error).message}`);
  }
  ctx.rec.body = mp;
  const files = mp.files.filter((f) => f.field === "file");
  if (files.length !== 1 || mp.files.length !== 1) return rejectHttp(ctx, failures.invalid("exactly one file part is required"), `upload v2 with ${mp.files.length} file parts`);
  const file = files[0]!;
  if (!file.contentType) return rejectHttp(ctx, failures.invalid("file part needs a Content-Type"), "file part without Content-Type");
  if (!file.filename) return rejectHttp(ctx, failures.invalid("file part needs a filename"), "file part with empty filename");
  if (/[\r\n]/.test(file.filename)) return rejectHttp(ctx, failures.invalid("invalid filename"), "filename contains CR/LF");
  for (const k of Object.keys(mp.fields)) {
    if (k !== "file_source") return rejectHttp(ctx, failures.invalid(`unknown field ${k}`), `unknown multipart field ${k}`);
  }
  const source = mp.fields["file_source"];
  if (source !== undefined && source !== IMAGINE_FILE_SOURCE) return rejectHttp(ctx, failures.invalid("invalid file_source"), `file_source ${source}`);
  if (file.size === 0) return rejectHttp(ctx, failures.invalid("empty file"), "empty file part");
  const problem = imageProblem(file.contentType, file.data);
  if (problem) return rejectHttp(ctx, failures.invalid(problem), problem);
  const rec = store(ctx, ctx.account!, file.filename, file.contentType, file.data, source);
  if (ctx.core.state.options.asyncUploads) return sendJson(ctx, 200, { uploadId: rec.uploadId, terminalError: null });
  sendJson(ctx, 200, { uploadId: rec.uploadId, terminalError: null, fileMetadata: fileMetadata(rec) });
}

/** GET /rest/app-chat/upload-file-v2/status?uploadId=… */
export function handleUploadStatus(ctx: HttpCtx): void {
  const id = ctx.url.searchParams.get("uploadId");
  if (!id) return rejectHttp(ctx, failures.invalid("uploadId is required"), "status poll without uploadId");
  const u = [...ctx.core.state.uploads.values()].find((x) => x.uploadId === id);
  if (!u || u.owner !== ctx.account!.sso) return rejectHttp(ctx, failures.notFound("Upload not found"), `unknown uploadId ${id}`);
  sendJson(ctx, 200, { uploadId: u.uploadId, status: "UPLOAD_STATUS_COMPLETED", terminalError: null, fileMetadata: fileMetadata(u) });
}
