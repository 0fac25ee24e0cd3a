// @ts-check
/** A job stopped by its user (its AbortSignal), told apart from a failure by `instanceof`. */
import { t } from '../shared/i18n.js';

export class CancelledError extends Error {
  constructor() {
    super(t('jobsCancelled'));
  }
}
