// @vlreward/trainer public API.
export { DEFAULT_AUGMENT, DEFAULT_CONFIG, metricMode, resolveConfig } from './config.js';
export type { AugmentConfig, EarlyStoppingConfig, FinetuneMode, MetricName, Precision, Schedule, TrainConfig } from './config.js';
export { learningRate, totalOptimizerSteps } from './schedule.js';
export type { ScheduleOptions } from './schedule.js';
export { Rng } from '@vlreward/graph';
export type { RngState } from '@vlreward/graph';
export {
  argmaxRows,
  classWeightsFromHistogram,
  classificationReport,
  confusionMatrix,
  labelHistogram,
  renderConfusion,
  renderReport,
  softmaxRows,
} from './metrics.js';
export type { ClassStats, ClassificationReport } from './metrics.js';
export { augmentImage, augmentSample, colorJitter, cropResize, hflip, randomCropBox } from './augment.js';
export type { CropBox, JitterFactors, RgbImage } from './augment.js';
export { samplesOfEpisodes, splitEpisodes } from '@vlreward/dataset';
export type { EpisodeSplit } from '@vlreward/dataset';
export { JsonlLogger, parseJsonl } from './logging/jsonl.js';
export type { JsonRecord } from './logging/jsonl.js';
export { crc32c, maskedCrc32c } from './logging/crc32c.js';
export { SummaryWriter, TFEVENTS_PROTO, tfrecord } from './logging/tensorboard.js';
export { Progress, formatDuration } from './logging/progress.js';
export type { ProgressOptions, ProgressUpdate } from './logging/progress.js';
export { confusionSvg, rewardCurveSvg, svgToPng } from './plot.js';
export type { CurvePoint } from './plot.js';
export { firstBatchIndices, NonFiniteLossError, planSamples, train } from './train.js';
export type { TrainOptions, TrainResult } from './train.js';
export { evaluate } from './evaluate.js';
export type { EvaluateOptions } from './evaluate.js';
export { curveCsv, predict, predictionFromLogits, writeRewardCurve } from './predict.js';
export type { CurveRow, Prediction } from './predict.js';
export { EpochSampler, Prefetcher, getSamples, loadBatch, serialReads } from './loader.js';
export type { LoadedBatch, PlannedBatch } from './loader.js';
export type {
  CheckpointPayload,
  CheckpointStore,
  EncodeFn,
  EvalOutput,
  EvalRecord,
  LoaderPosition,
  RewardSample,
  SampleSource,
  StepOutput,
  TrainableState,
  TrainerSession,
  TrainerState,
} from './types.js';
export { HEAD_BIAS, HEAD_WEIGHT, checkpointContents, modelStateFromCheckpoint, rewardCheckpointStore, trainedParamsFromCheckpoint } from './checkpoints.js';
export type { ModelTrainableState, RewardCheckpointOptions } from './checkpoints.js';
export { RewardModelSession, rewardTrainingOptions } from './reward_model.js';
export { ortGraphCacheDir, vlrewardCacheDir } from './cache_dir.js';
export { parseDevice } from '@vlreward/graph/runtime';
export type { RewardModelOptions } from './reward_model.js';
export { alohaSource } from './sources.js';
export {
  evaluateRewardModel,
  loadBaseModel,
  loadRewardModel,
  peakRssMiB,
  predictEpisode,
  predictSample,
  processorEncode,
  SEQ_PAD_MULTIPLE,
  resolveCheckpointDir,
  trainRewardModel,
  writeTinyModel,
} from './pipeline.js';
export type { BaseModel, DatasetOptions, ImageOptions, RewardModel, TrainPhases, TrainRewardOptions, TrainRewardResult } from './pipeline.js';
export { droppedTail, epochOrder, globalBatch, rankBatch, rankBatches, RankSampler, stepsPerEpoch } from './distributed_sampler.js';
export type { DistributedSamplerOptions } from './distributed_sampler.js';
