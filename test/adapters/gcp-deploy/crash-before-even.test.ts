import { crashSuite } from './crash-suite';

crashSuite('before', 0);
