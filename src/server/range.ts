// The range parser is shared with share links and the S3 endpoint: it lives in service/.
export { parseRange } from '../service/byte-range.js';
