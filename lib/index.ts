/**
 * taxi-duration: the MLOps course's week 1 (NYC taxi trip duration) as a library.
 *
 * source → read → clean → vectorize → fit → evaluate → plot / save.
 * This file only re-exports; each course step lives in its own module.
 */
export * from './columns.js';
