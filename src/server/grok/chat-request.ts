import { randomUUID } from "node:crypto";

/** What the proxy asks grok.com for in one chat turn, transport-neutral. */
export interface GrokChatRequest {
  /** Mode id: gateway `session.model`, REST `modeId`. */
  mode: string;
  /** The flattened prompt. */
  message: string;
  /** Upload ids to attach. */
  fileIds: string[];
  temporary: boolean;
  disableSearch: boolean;
  enableImageGeneration: boolean;
  imageGenerationCount: number;
  /** REST `toolOverrides` (grok-protocol.md §4.2): grok tools switched on/off for this turn. */
  toolOverrides?: Record<string, boolean>;
}

/** REST `conversations/new` body in the `modeId` form (grok-protocol.md §4.2). */
export function restChatBody(req: GrokChatRequest): Record<string, unknown> {
  return {
    collectionIds: [],
    disabledConnectorIds: [],
    deviceEnvInfo: { darkModeEnabled: false, devicePixelRatio: 2, screenHeight: 1328, screenWidth: 2056, viewportHeight: 1083, viewportWidth: 2056 },
    disableMemory: true,
    disableSearch: req.disableSearch,
    disableSelfHarmShortCircuit: false,
    disableTextFollowUps: true,
    enableImageGeneration: req.enableImageGeneration,
    enableImageStreaming: true,
    enableSideBySide: true,
    fileAttachments: req.fileIds,
    forceConcise: false,
    forceSideBySide: false,
    imageAttachments: [],
    imageGenerationCount: req.imageGenerationCount,
    isAsyncChat: false,
    message: req.message,
    modeId: req.mode,
    responseMetadata: {},
    returnImageBytes: false,
    returnRawGrokInXaiRequest: false,
    sendFinalMetadata: true,
    temporary: req.temporary,
    ...(req.toolOverrides ? { toolOverrides: req.toolOverrides } : {}),
  };
}

/** Gateway `session.create` for a new conversation (§3.4). */
export function sessionCreateEvent(req: GrokChatRequest, eventId: string): Record<string, unknown> {
  return {
    event: {
      type: "session.create",
      event_id: eventId,
      session: {
        model: req.mode,
        x_grok: {
          protocol_capabilities: ["conversation_attached", "custom_methods_v1"],
          use_chunk: true,
          enable_side_by_side: true,
          force_side_by_side: false,
          enable_image_generation: req.enableImageGeneration,
          image_generation_count: req.imageGenerationCount,
          disable_text_follow_ups: true,
          disable_artifact: true,
          force_concise: false,
          keep_context: false,
          is_temporary: req.temporary,
          disable_memory: true,
        },
      },
    },
  };
}

/** Gateway `conversation.item.create` + `response.create` (§3.4). */
export function itemEvents(req: GrokChatRequest, sessionId: string, now = Date.now()): Array<Record<string, unknown>> {
  const chunks: unknown[] = req.fileIds.map((id) => ({ mention: { target: { file_mention: { file_id: id } } } }));
  chunks.push({ text: { text: req.message } });
  const item: Record<string, unknown> = { type: "message", role: "user", x_grok: { client_message_id: randomUUID(), input_chunks: chunks } };
  const event: Record<string, unknown> = { type: "conversation.item.create", event_id: `evt_msg_${now}`, item };
  if (req.fileIds.length) {
    item.file_attachment_ids = req.fileIds;
    event.file_attachment_ids = req.fileIds;
  }
  return [
    { session_id: sessionId, event },
    { session_id: sessionId, event: { type: "response.create", event_id: `evt_resp_${now}` } },
  ];
}
