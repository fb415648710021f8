// OVH API error bodies (docs/contracts.md §A.2). Authentication errors use the legacy
// style `{ errorCode, httpCode, message }`; object errors the current `{ class, message }`.
//
// Everything marked *(unverified)* in the contracts lives in UNVERIFIED below and nowhere
// else, so correcting a wording after checking it against the real API is a one-line edit.

/** Wordings and limits that are best knowledge, not confirmed against the real API. */
export const UNVERIFIED = {
  /** A timestamp too far from server time (400). */
  queryOutOfTime: 'Query out of time',
  /** errorCode sent with queryOutOfTime. */
  queryOutOfTimeCode: 'QUERY_TIME_OUT',
  /** How far X-Ovh-Timestamp may be from server time, in seconds. */
  timestampToleranceSeconds: 180,
  /** Signed route called with no X-Ovh-Consumer header (401). */
  mustLogin: 'You must login first',
  /** Path that matches no route (404); see SCHEMA_ERRORS.invalidUrl for the verified wording. */
  unknownRoute: 'Got an invalid (or empty) URL',
  /** A method the schema does not define on a path that exists: status and wording (404 as for an unknown path; 405 is possible). */
  methodNotDefined: 'Got an invalid (or empty) URL',
  /** Query parameters the operation does not describe: that OVH refuses them at all, and the wording (modelled on the body one). */
  queryNotDescribed: (names: string[], operation: string) => `Received not described parameters: (${names.join(', ')}) while calling ${operation}`,
  /** A path or query value of the wrong type or format (modelled on the body wording). */
  paramBadFormat: (paramType: string, name: string, problem: string) =>
    `${paramType === 'path' ? 'Path' : 'Query'} parameter ${name} isn't formated correctly: ${problem}`,
  unknownIp: (ip: string) => `The requested object (ip = ${ip}) does not exist`,
  unknownService: (service: string) => `The requested object (serviceName = ${service}) does not exist`,
  unknownTask: (id: string) => `The requested object (taskId = ${id}) does not exist`,
  unknownVrackTask: (id: string) => `The requested object (id = ${id}) does not exist`,
  invalidJson: 'Invalid JSON in request body',
  missingParameter: (name: string) => `Missing parameter(s): ${name}`,
  moveAlreadyRouted: (ip: string, service: string) => `The IP ${ip} is already routed to ${service}`,
  moveUnknownDestination: (service: string) => `Invalid destination: ${service} is not a service of your account that can receive this IP`,
  movePending: (ip: string, taskId: number) => `A move of ${ip} is already in progress (task ${taskId})`,
  parkNotRouted: (ip: string) => `The IP ${ip} is not routed to any service`,
  ipNotYours: (ip: string) => `The IP ${ip} does not belong to your account`,
  rebootPending: (service: string, taskId: number) => `A hardReboot task is already in progress on ${service} (task ${taskId})`,
  vrackAlreadyMember: (server: string, vrack: string) => `The dedicated server ${server} is already in the vRack ${vrack}`,
  vrackInOtherVrack: (server: string, vrack: string) => `The dedicated server ${server} is already in another vRack (${vrack})`,
  vrackPending: (server: string, taskId: number) => `A task adding ${server} to this vRack is already in progress (task ${taskId})`,
  /** Task `function` of a park (detach) call; OVH may name it differently. */
  parkTaskFunction: 'genericMoveFloatingIp',
  /** vRack task `function` when a dedicated server is added (legacy call); `vrack.Task.function` is a free string in the schema. */
  vrackAddFunction: 'addDedicatedServerToVrack',
  /** vRack task `function` when a dedicated server interface is added. */
  vrackAddInterfaceFunction: 'addDedicatedServerInterfaceToVrack',
  /** vRack task `targetDomain` of an interface add: the interface UUID (the server's service name is as likely). */
  vrackInterfaceTaskTarget: 'uuid' as 'uuid' | 'serviceName',
  /** Legacy add of a server that has configurable network interfaces (status and wording). */
  vrackLegacyRefused: (server: string) => `The dedicated server ${server} has configurable network interfaces: add its vrack interface through /vrack/{serviceName}/dedicatedServerInterface`,
  unknownInterface: (uuid: string) => `The requested object (dedicatedServerInterface = ${uuid}) does not exist`,
  unknownVni: (uuid: string) => `The requested object (uuid = ${uuid}) does not exist`,
  interfaceNotVrack: (uuid: string, mode: string) => `The interface ${uuid} is in mode ${mode}, not vrack`,
  /** A vRack task has no ovhError status; a failed one is shown as cancelled. */
  vrackFailedStatus: 'cancelled',
  taskFailedComment: 'Task failed on the provider side',
} as const;

/**
 * Wordings of schema refusals that users have quoted from the real API (docs/contracts.md §A.2):
 * - `Got an invalid (or empty) URL`, 404 `Client::NotFound`, for a path the API does not have
 *   (php-ovh#102; terraform-provider-ovh docs, "Client::NotFound: \"Got an invalid (or empty) URL\"");
 * - `Received not described parameters: (a, b) while calling <handler>` (400) for undescribed body
 *   parameters (php-ovh#63, cornelius-keller/ansible-ovh#3); the handler name after "while calling"
 *   is OVH's internal one (`start`, `creation handler`), here the operation instead (unverified);
 * - `Body parameter <name> isn't formated correctly` (400) for a body value of the wrong type
 *   (python-ovh#121); what follows the colon here is the simulator's own detail.
 */
export const SCHEMA_ERRORS = {
  invalidUrl: 'Got an invalid (or empty) URL',
  notDescribed: (names: string[], operation: string) => `Received not described parameters: (${names.join(', ')}) while calling ${operation}`,
  bodyBadFormat: (name: string, problem: string) => `Body parameter ${name} isn't formated correctly: ${problem}`,
} as const;

/** The legacy authentication errors, exactly as the contracts table lists them. */
export const AUTH_ERRORS = {
  INVALID_SIGNATURE: { status: 400, message: 'Invalid signature' },
  INVALID_KEY: { status: 403, message: 'Invalid application key' },
  NOT_CREDENTIAL: { status: 403, message: 'This credential does not exist' },
  INVALID_CREDENTIAL: { status: 403, message: 'This credential is not valid' },
  NOT_GRANTED_CALL: { status: 403, message: 'This call has not been granted' },
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERRORS;

/** HTTP reason phrases used in the legacy `httpCode` field. */
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Error class per status, in OVH's current style. */
const CLASSES: Record<number, string> = {
  400: 'Client::BadRequest',
  401: 'Client::Unauthorized',
  403: 'Client::Forbidden',
  404: 'Client::NotFound',
  409: 'Client::Conflict',
  429: 'Client::TooManyRequests',
  500: 'Server::InternalServerError',
  502: 'Server::BadGateway',
  503: 'Server::ServiceUnavailable',
  504: 'Server::GatewayTimeout',
};

export type OvhErrorBody = { class: string; message: string } | { errorCode: string; httpCode: string; message: string };

/** An error answer: thrown by route handlers and the authenticator, turned into a response by the server. */
export class OvhHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: OvhErrorBody,
  ) {
    super(body.message);
  }

  /** The code or class, for the audit log. */
  get code(): string {
    return 'errorCode' in this.body ? this.body.errorCode : this.body.class;
  }
}

export function authError(code: AuthErrorCode): OvhHttpError {
  const { status, message } = AUTH_ERRORS[code];
  return new OvhHttpError(status, { errorCode: code, httpCode: `${status} ${REASONS[status]}`, message });
}

export function queryOutOfTime(): OvhHttpError {
  return new OvhHttpError(400, { errorCode: UNVERIFIED.queryOutOfTimeCode, httpCode: '400 Bad Request', message: UNVERIFIED.queryOutOfTime });
}

/** An error in the current `{ class, message }` style for any status (faults use it for 5xx and 429). */
export function classError(status: number, message?: string): OvhHttpError {
  const cls = CLASSES[status] ?? (status >= 500 ? 'Server::InternalServerError' : 'Client::BadRequest');
  return new OvhHttpError(status, { class: cls, message: message ?? REASONS[status] ?? `HTTP ${status}` });
}

export const notFound = (message: string) => classError(404, message);
export const badRequest = (message: string) => classError(400, message);
export const conflict = (message: string) => classError(409, message);
export const unauthorized = () => new OvhHttpError(401, { message: UNVERIFIED.mustLogin, class: 'Client::Unauthorized' });
