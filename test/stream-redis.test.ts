/** The shared stream suite against Redis Streams (a real broker on 127.0.0.1). */
import { redisBroker } from './helpers/brokers.js';
import { streamSuite } from './stream.suite.js';

streamSuite(redisBroker);
