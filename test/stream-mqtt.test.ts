/** The shared stream suite against MQTT (Mosquitto) (a real broker on 127.0.0.1). */
import { mqttBroker } from './helpers/brokers.js';
import { streamSuite } from './stream.suite.js';

streamSuite(mqttBroker);
