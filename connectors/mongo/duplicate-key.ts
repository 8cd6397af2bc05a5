/** MongoDB's (and FerretDB's) code for a unique-index violation (E11000). */
export const DUPLICATE_KEY = 11000;
