// ml-regression ships no type declarations; these cover what the tests use.
declare module 'ml-regression' {
  import MultivariateLinearRegression from 'ml-regression-multivariate-linear';

  export class SimpleLinearRegression {
    constructor(x: number[], y: number[]);
    slope: number;
    intercept: number;
    predict(x: number): number;
  }
  export { MultivariateLinearRegression };
}
