import { gcpAdapter } from '../../adapters/gcp';
import { checkParity } from './check';

checkParity(gcpAdapter);
