import { Type } from '@sinclair/typebox';

/** Node ids: a type prefix and 32 hex digits. Anything else is refused before any store sees it. */
export const NodeId = Type.String({ pattern: '^[a-z]{1,4}_[0-9a-f]{32}$', maxLength: 40, description: 'a node id, e.g. p_0123…' });
/** Times are integer µs since the epoch. */
export const Time = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const Direction = Type.Union([Type.Literal('backward'), Type.Literal('forward')], { default: 'backward' });
export const ErrorReply = Type.Object({ code: Type.String(), message: Type.String() });
