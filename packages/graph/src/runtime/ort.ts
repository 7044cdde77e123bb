// The one place that loads onnxruntime-node, so the builder stays pure and
// every runtime file shares one binding instance.
import ortNode from 'onnxruntime-node';
import type { InferenceSession, Tensor as OrtTensorNs } from 'onnxruntime-common';

export const ort = ortNode;
export type OrtTensor = OrtTensorNs;
export type OrtSession = InferenceSession;
export type OrtSessionOptions = InferenceSession.SessionOptions;
export type OrtDataLocation = OrtTensorNs.DataLocation;
export type OrtTensorType = OrtTensorNs.Type;
