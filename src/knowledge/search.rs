//! One loaded knowledge folder (snippets, index, language) and searching it.

use std::ops::Bound;
use std::sync::Arc;

use chrono::NaiveDate;
use jieba_rs::Jieba;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::index::{self, day_number, sku_key, Built, Fields, IndexShape, ANY};
use super::query::{analyze, Analyzed};
use super::synonyms::{QueryLanguage, Synonyms, LEXICON};
use super::tokenize::{build_jieba, normalize};
use super::{
    Hit, KnowledgeError, LoadReport, SearchOptions, SearchRequest, SearchResponse, Snippet,
};

/// Everything one load produced; replaced as a whole on reload.
pub struct Inner {
    pub snippets: Vec<Snippet>,
    pub report: LoadReport,
    pub version: String,
    jieba: Arc<Jieba>,
    lang: QueryLanguage,
    synonyms: Synonyms,
    built: Built,
    options: SearchOptions,
}

impl Inner {
    /// Tokenizes and indexes (blocking CPU work).
    pub fn build(
        snippets: Vec<Snippet>,
        report: LoadReport,
        version: String,
        dict: Option<&str>,
        synonyms: Option<&str>,
        options: SearchOptions,
    ) -> Result<Inner, KnowledgeError> {
        let mut jieba = build_jieba(
            if options.user_dict { dict } else { None },
            options.user_dict,
        );
        let synonyms = if options.synonyms {
            let mut text = String::new();
            if options.lexicon {
                text.push_str(LEXICON);
                text.push('\n');
            }
            text.push_str(synonyms.unwrap_or(""));
            Synonyms::parse(&text)
        } else {
            Synonyms::default()
        };
        if options.user_dict && options.synonyms {
            // Synonym members are words customers write: let jieba keep them whole.
            for group in synonyms.groups() {
                for w in group {
                    let n = w.chars().count();
                    if (2..=4).contains(&n)
                        && !jieba.has_word(w)
                        && w.chars().all(|c| !c.is_ascii())
                    {
                        jieba.add_word(w, Some(2_000), None);
                    }
                }
            }
        }
        let jieba = Arc::new(jieba);
        let built = index::build(
            &snippets,
            jieba.clone(),
            IndexShape {
                titles: options.titles,
                grams: options.grams,
                hmm: options.hmm,
            },
        )?;
        Ok(Inner {
            snippets,
            report,
            version,
            jieba,
            lang: QueryLanguage::new(),
            synonyms,
            built,
            options,
        })
    }

    /// The concepts a request is searched with: each a list of `(term, weight)` alternatives.
    pub fn query_terms(&self, req: &SearchRequest) -> Vec<Vec<(String, f32)>> {
        self.analyze(req)
            .concepts
            .into_iter()
            .map(|c| c.terms)
            .collect()
    }

    /// The no-answer signals of a response: (coverage of the best hit, its score).
    pub fn signals(&self, req: &SearchRequest, hits: &[Hit]) -> (f32, f32) {
        let a = self.analyze(req);
        match hits.first() {
            Some(top) => (
                coverage(&a, &normalize(&format!("{} {}", top.title, top.text))),
                top.score,
            ),
            None => (0.0, 0.0),
        }
    }

    pub fn analyze(&self, req: &SearchRequest) -> Analyzed {
        analyze(
            &req.turns,
            &self.jieba,
            &self.lang,
            &self.synonyms,
            &self.options,
        )
    }

    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse, KnowledgeError> {
        let empty = SearchResponse {
            hits: Vec::new(),
            no_answer: true,
        };
        if req.k == 0 {
            return Ok(empty);
        }
        let analyzed = self.analyze(req);
        let Some(text_query) = self.text_query(&analyzed) else {
            return Ok(empty);
        };
        let today = req
            .date
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        let query: Box<dyn Query> = match self.filter(req, today) {
            Some(filter) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query),
                (Occur::Must, filter),
            ])),
            None => text_query,
        };
        // Extra candidates so expired snippets can move down without emptying the top k.
        let limit = (req.k * 2 + 10).max(self.options.rerank_depth);
        let top = self
            .built
            .searcher
            .search(query.as_ref(), &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| KnowledgeError::Index(format!("search failed: {e}")))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let ord = self
                .built
                .searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("ord")
                .map_err(|e| KnowledgeError::Index(format!("snippet number column: {e}")))?
                .first(addr.doc_id);
            let Some(s) = ord.and_then(|o| self.snippets.get(o as usize)) else {
                continue;
            };
            let expired = s.valid_to.is_some_and(|to| to < today);
            let mut score = score;
            if expired {
                score *= self.options.expired_penalty;
            }
            if self.options.coverage_rerank > 0.0 {
                // Coordination: a snippet that answers more of what was asked ranks higher.
                let cov = coverage(&analyzed, &normalize(&format!("{} {}", s.title, s.text)));
                score *= cov.max(0.05).powf(self.options.coverage_rerank);
            }
            if let Some(sku) = &req.sku {
                if sku_key(&s.doc_id) == sku_key(sku) {
                    score *= self.options.sku_boost;
                }
            }
            hits.push(Hit {
                id: s.id.clone(),
                doc_id: s.doc_id.clone(),
                title: s.title.clone(),
                kind: s.kind,
                score,
                text: s.text.clone(),
                source: s.source.clone(),
                expired,
                valid_from: s.valid_from,
                valid_to: s.valid_to,
            });
        }
        // The expired penalty puts an expired snippet below current ones of similar relevance,
        // yet lets it lead when it is clearly what was asked (a 618 question after 618).
        // Ties: current first, then index order.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.expired.cmp(&b.expired))
        });
        hits.truncate(req.k);
        let no_answer = self.no_answer(&analyzed, &hits);
        Ok(SearchResponse { hits, no_answer })
    }

    /// One term in the title and body fields, summed.
    fn term_query(&self, text: &str, weight: f32, grams: bool) -> Option<Box<dyn Query>> {
        let f = &self.built.fields;
        let o = &self.options;
        let (title, body) = if grams {
            (f.title_grams, f.body_grams)
        } else {
            (f.title_words, f.body_words)
        };
        let mut fields = vec![(body, weight * o.body_boost)];
        if o.titles {
            fields.push((title, weight * o.title_boost));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = fields
            .into_iter()
            .filter(|(_, boost)| *boost > 0.0)
            .map(|(field, boost)| {
                let q = TermQuery::new(
                    Term::from_field_text(field, text),
                    IndexRecordOption::WithFreqs,
                );
                let q: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(q), boost));
                (Occur::Should, q)
            })
            .collect();
        match clauses.len() {
            0 => None,
            1 => clauses.pop().map(|(_, q)| q),
            _ => Some(Box::new(BooleanQuery::new(clauses))),
        }
    }

    fn text_query(&self, a: &Analyzed) -> Option<Box<dyn Query>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for c in &a.concepts {
            let mut alternatives: Vec<Box<dyn Query>> = c
                .terms
                .iter()
                .filter_map(|(t, w)| self.term_query(t, *w, false))
                .collect();
            let q: Box<dyn Query> = match alternatives.len() {
                0 => continue,
                1 => alternatives.remove(0),
                _ => Box::new(DisjunctionMaxQuery::with_tie_breaker(
                    alternatives,
                    self.options.synonym_tie_breaker,
                )),
            };
            clauses.push((Occur::Should, q));
        }
        if self.options.grams {
            for (g, w) in &a.grams {
                if let Some(q) = self.term_query(g, *w, true) {
                    clauses.push((Occur::Should, q));
                }
            }
        }
        if clauses.is_empty() {
            None
        } else {
            Some(Box::new(BooleanQuery::new(clauses)))
        }
    }

    /// Platform, SKU and validity as a zero-score clause: filters must not change the ranking.
    /// A filter no snippet could fail is left out (it would only cost time).
    fn filter(&self, req: &SearchRequest, today: NaiveDate) -> Option<Box<dyn Query>> {
        let b = &self.built;
        let f: &Fields = &b.fields;
        let term = |field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(p) = req.platform.filter(|_| b.any_platform_limit) {
            must.push((Occur::Must, term(f.platform, p.as_str())));
        }
        // A snippet restricted to SKUs shows only on those products' pages, or when no SKU is
        // known (the customer may be asking about any of them).
        if let Some(sku) = req
            .sku
            .as_deref()
            .filter(|s| !s.trim().is_empty() && b.any_sku_limit)
        {
            let either = BooleanQuery::new(vec![
                (Occur::Should, term(f.sku, ANY)),
                (Occur::Should, term(f.sku, &sku_key(sku))),
            ]);
            must.push((Occur::Must, Box::new(either)));
        }
        if b.any_valid_from {
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(f.valid_from, day_number(today))),
                )),
            ));
        }
        let inner: Box<dyn Query> = match must.len() {
            0 => return None,
            1 => must.pop().map(|(_, q)| q)?,
            _ => Box::new(BooleanQuery::new(must)),
        };
        Some(Box::new(ConstScoreQuery::new(inner, 0.0)))
    }

    /// Whether the best hit fails to cover enough of what the customer asked.
    fn no_answer(&self, a: &Analyzed, hits: &[Hit]) -> bool {
        let Some(top) = hits.first() else {
            return true;
        };
        if self.options.no_answer_coverage <= 0.0 {
            return false;
        }
        coverage(a, &normalize(&format!("{} {}", top.title, top.text)))
            < self.options.no_answer_coverage
    }
}

/// Share of the query's concept weight covered by `text`: a concept counts when any of its
/// terms (its own words or a synonym) occurs in the text.
pub fn coverage(a: &Analyzed, normalized_text: &str) -> f32 {
    let mut total = 0.0;
    let mut found = 0.0;
    for c in &a.concepts {
        let w = c.terms.iter().map(|(_, w)| *w).fold(0.0, f32::max);
        total += w;
        if c.terms
            .iter()
            .any(|(t, _)| normalized_text.contains(t.as_str()))
        {
            found += w;
        }
    }
    if total <= 0.0 {
        0.0
    } else {
        found / total
    }
}
