import { azureAdapter } from '../../adapters/azure';
import { checkParity } from './check';

checkParity(azureAdapter);
