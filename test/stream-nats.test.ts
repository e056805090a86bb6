/** The shared stream suite against NATS JetStream (a real broker on 127.0.0.1). */
import { natsBroker } from './helpers/brokers.js';
import { streamSuite } from './stream.suite.js';

streamSuite(natsBroker);
