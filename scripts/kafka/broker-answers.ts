/** True when something accepts TCP connections on host:port within 3 s (a broker, for our purposes). */
export { portAnswers as brokerAnswers } from '../port-answers.js';
