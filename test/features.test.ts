import { describe, expect, it } from 'vitest';
import {
  categorical,
  COURSE_FEATURES,
  DictVectorizer,
  featureColumns,
  featureSetOf,
  formatFeatureSet,
  neededColumns,
  PAIR_FEATURES,
  parseFeatureList,
  tripRecord,
} from '../lib/index.js';

const trips = {
  PULocationID: categorical(Int32Array.of(161, 7, 161, 236)),
  DOLocationID: categorical(Int32Array.of(236, 161, 236, 7)),
  trip_distance: Float64Array.of(2.1, 0.5, 1.9, 17.6),
};
// The same trips as the course's records (zones as strings, as astype(str) gives).
const records = [
  { PULocationID: '161', DOLocationID: '236', trip_distance: 2.1 },
  { PULocationID: '7', DOLocationID: '161', trip_distance: 0.5 },
  { PULocationID: '161', DOLocationID: '236', trip_distance: 1.9 },
  { PULocationID: '236', DOLocationID: '7', trip_distance: 17.6 },
];

describe('feature sets', () => {
  it('parses comma lists into the course lists, and formats them back', () => {
    expect(parseFeatureList('PU_DO,trip_distance')).toEqual(PAIR_FEATURES);
    expect(parseFeatureList(' PULocationID , DOLocationID,trip_distance ')).toEqual(COURSE_FEATURES);
    expect(parseFeatureList('PULocationID,DOLocationID')).toEqual({ categorical: ['PULocationID', 'DOLocationID'], numerical: [] });
    expect(formatFeatureSet(PAIR_FEATURES)).toBe('PU_DO,trip_distance');
  });

  it.each([
    ['PU_DO,fare_amount', /unknown feature "fare_amount"; known: PULocationID, DOLocationID, PU_DO, trip_distance/],
    ['', /feature set is empty/],
    [' , ', /feature set is empty/],
  ])('refuses %j with a message that names the fix', (list, message) => {
    expect(() => parseFeatureList(list)).toThrow(message);
  });

  it('names the columns whose nulls make a row unusable', () => {
    expect(neededColumns(PAIR_FEATURES)).toEqual(['PULocationID', 'DOLocationID', 'trip_distance']);
    expect(neededColumns({ categorical: ['DOLocationID'], numerical: [] })).toEqual(['DOLocationID']);
  });

  it('reads the feature set a model file records, the course default for older files', () => {
    expect(featureSetOf({})).toBe(COURSE_FEATURES);
    expect(featureSetOf({ categorical: ['PU_DO'], numerical: ['trip_distance'] })).toEqual(PAIR_FEATURES);
    expect(() => featureSetOf({ categorical: ['PU_DO'], numerical: ['tip'] })).toThrow(/unknown numerical feature "tip"/);
    expect(() => featureSetOf({ categorical: ['trip_distance'], numerical: [] })).toThrow(/trip_distance is numerical/);
  });
});

describe('featureColumns and tripRecord', () => {
  it('give DictVectorizer the same matrix as the course records, for both feature sets', () => {
    for (const set of [COURSE_FEATURES, PAIR_FEATURES]) {
      const fromColumns = new DictVectorizer();
      const X = fromColumns.fitTransform(featureColumns(trips, set));
      const fromRecords = new DictVectorizer();
      const Y = fromRecords.fitTransform(records.map((r) => tripRecord(r, set)));
      expect(fromColumns.getFeatureNamesOut()).toEqual(fromRecords.getFeatureNamesOut());
      expect(Array.from(X.indices)).toEqual(Array.from(Y.indices));
      expect(Array.from(X.data)).toEqual(Array.from(Y.data));
      expect(Array.from(X.indptr)).toEqual(Array.from(Y.indptr));
    }
  });

  it('joins PU and DO as the course does: df.PULocationID + "_" + df.DOLocationID', () => {
    const dv = new DictVectorizer().fit(featureColumns(trips, PAIR_FEATURES));
    // Sorted by code point, as sklearn: '161_236' < '236_7' < '7_161', then trip_distance.
    expect(dv.getFeatureNamesOut()).toEqual(['PU_DO=161_236', 'PU_DO=236_7', 'PU_DO=7_161', 'trip_distance']);
  });

  it('takes raw zone IDs as well as categories', () => {
    const raw = { PULocationID: Int32Array.of(1, 2), DOLocationID: Int32Array.of(2, 1), trip_distance: Float64Array.of(1, 2) };
    expect(new DictVectorizer().fit(featureColumns(raw, PAIR_FEATURES)).getFeatureNamesOut()).toEqual(['PU_DO=1_2', 'PU_DO=2_1', 'trip_distance']);
  });

  it('refuses a distance feature on trips without distances (FHV), naming the fix', () => {
    const fhv = { PULocationID: Int32Array.of(1), DOLocationID: Int32Array.of(2) };
    expect(() => featureColumns(fhv, COURSE_FEATURES)).toThrow(/no trip_distance column .*PULocationID,DOLocationID/);
    expect(Object.keys(featureColumns(fhv, { categorical: ['PULocationID', 'DOLocationID'], numerical: [] }))).toEqual(['PULocationID', 'DOLocationID']);
  });

  it.each([
    [{ DOLocationID: '236', trip_distance: 2.1 }, /PULocationID must be a zone ID .* got nothing \(the field is missing\)/],
    [{ PULocationID: 1.5, DOLocationID: '236', trip_distance: 2.1 }, /PULocationID must be a zone ID .* got 1.5/],
    [{ PULocationID: '161', DOLocationID: '236', trip_distance: '2.1' }, /trip_distance must be a finite number, got "2.1"/],
    [{ PULocationID: '161', DOLocationID: '236', trip_distance: null }, /trip_distance must be a finite number, got null/],
  ])('tripRecord refuses %j naming the field', (record, message) => {
    expect(() => tripRecord(record, COURSE_FEATURES)).toThrow(message);
  });

  it('tripRecord keeps only the set’s features and casts zones as astype(str)', () => {
    expect(tripRecord({ PULocationID: 161, DOLocationID: '236', trip_distance: 2.1, fare: 9 }, PAIR_FEATURES)).toEqual({ PU_DO: '161_236', trip_distance: 2.1 });
  });
});
