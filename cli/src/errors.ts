/** Error catalog of the CLI workspace (faasprov functions). Codes are stable; retired codes stay listed. */
import { defineError } from '@faasprov/model';

export const FunctionsErrors = {
  FP_ERR_STACK_INVALID: defineError('FP_ERR_STACK_INVALID', (file, what) => `stack file ${file}: ${what}`),
  FP_ERR_TOOL_MISSING: defineError('FP_ERR_TOOL_MISSING', (tool, hint) => `${tool} not found (${hint})`),
  FP_ERR_FUNCTION_BUILD: defineError('FP_ERR_FUNCTION_BUILD', (fn, what) => `function ${fn}: ${what}`),
  FP_ERR_FUNCTIONS_RUNNING: defineError('FP_ERR_FUNCTIONS_RUNNING', (state, pid) => `this stack is already up (faasprov functions up, pid ${pid}, state ${state}); run faasprov functions down first`),
  FP_ERR_FUNCTIONS_NETWORK: defineError('FP_ERR_FUNCTIONS_NETWORK', (what) => `function network: ${what}`),
  FP_ERR_INSTANCE_START: defineError('FP_ERR_INSTANCE_START', (instance, what) => `instance ${instance} did not start: ${what}`),
  FP_ERR_GATEWAY_ADDRESS: defineError('FP_ERR_GATEWAY_ADDRESS', (value) => `--gateway must be HOST:PORT with a loopback or private HOST, got ${JSON.stringify(value)}`),
  FP_ERR_DEMO_NOT_UP: defineError('FP_ERR_DEMO_NOT_UP', (stack) => `the shop is not up (no running functions up of ${stack}); start it with make demo or faasprov functions up -f ${stack}`),
  FP_ERR_DEMO_ATTACK: defineError('FP_ERR_DEMO_ATTACK', (attack, what) => `attack ${attack}: ${what}`),
} as const;
