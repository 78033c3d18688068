// The second subgraph's schema: it extends the gateway's `Job` entity with fields of its own
// and hands out Job references, so a query plan goes from the gateway to here and back.
import { parse } from "graphql";

export const FEDERATION_VERSION = "2.7";

export const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v${FEDERATION_VERSION}", import: ["@key"])

  # Owned by the job gateway; no description here, so composition has nothing to reconcile.
  type Job @key(fields: "id") {
    id: ID!
    "A note computed from the id, so a test can predict it."
    reviewNote: String
    "The job's review, whose job field leads back to the job gateway."
    review: Review
  }

  "A review of one job."
  type Review {
    note: String!
    "The job itself, resolved by the job gateway through _entities."
    job: Job!
  }

  type Query {
    "Reviews of the given jobs, in the same order."
    reviews(jobIds: [ID!]!): [Review!]!
  }
`);

/** The note for a job id: deterministic, so the proof can check it without this subgraph. */
export function reviewNote(id) {
  return `reviewed:${id.length}:${id.slice(-6)}`;
}

export const resolvers = {
  Query: {
    reviews: (_root, { jobIds }) => jobIds.map((id) => ({ note: reviewNote(id), job: { id } })),
  },
  Job: {
    __resolveReference: (reference) => ({ id: reference.id }),
    reviewNote: (job) => reviewNote(job.id),
    review: (job) => ({ note: reviewNote(job.id), job: { id: job.id } }),
  },
};
